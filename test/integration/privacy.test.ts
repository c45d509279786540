import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { maskPii } from "#platform/logger.ts";
import { cli, tempDir } from "../helpers.ts";

/** A 1,500-customer synthetic bank imported into a fresh on-disk data dir. */
async function bankOnDisk(seed: number) {
  const dir = tempDir();
  const dataDir = join(dir, "data");
  const bank = join(dir, "bank.jsonl");
  await cli([
    "generate",
    "--customers",
    "1500",
    "--seed",
    String(seed),
    "--out",
    bank,
    "--at",
    "2027-02-28T00:00:00Z",
  ]);
  expect((await cli(["import", bank], { dataDir })).code).toBe(0);
  return { dataDir, bank };
}

describe("privacy", () => {
  it("masks names, phones and emails in any value about to be logged", () => {
    const masked = JSON.stringify(
      maskPii({
        name: "王伟",
        phone: "+8613800138000",
        note: "call 13912345678 or mail wang.wei@example.com",
        nested: { to: "x@y.cn", text: "您好" },
      }),
    );
    expect(masked).not.toMatch(/王伟|13800138000|13912345678|wang\.wei@example\.com|x@y\.cn|您好/);
    expect(masked).toContain("139****5678");
  });

  it("leaks no personal data into the logs of a whole launch at DEBUG, and keeps the data dir owner-only", {
    timeout: 180_000,
  }, async () => {
    const { dataDir, bank } = await bankOnDisk(11);
    const env = {
      TIERCAST_LOG_LEVEL: "DEBUG",
      TIERCAST_SMS_FAULTS: JSON.stringify({ failRate: 0.05, seed: 2 }),
    };
    const launch = await cli(
      ["launch", "examples/dormant-reactivation.json", "--at", "2027-03-01T02:00:00Z"],
      { dataDir, env },
    );
    expect(launch.code).toBe(0);
    expect(launch.stderr).toMatch(/"level":"DEBUG"/); // the logs were on
    const customers = readFileSync(bank, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name?: string; phone?: string; email?: string });
    const phones = customers
      .map((c) => c.phone?.replace(/^\+86/, ""))
      .filter((p): p is string => Boolean(p && p.length === 11));
    const emails = customers.map((c) => c.email).filter((e): e is string => Boolean(e?.includes("@")));
    const names = customers.map((c) => c.name).filter((n): n is string => Boolean(n && n.length >= 3));
    for (const p of phones) expect(launch.stderr.includes(p)).toBe(false);
    for (const e of emails) expect(launch.stderr.includes(e)).toBe(false);
    for (const n of names) expect(launch.stderr.includes(n)).toBe(false);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
    expect(statSync(join(dataDir, "secret")).mode & 0o077).toBe(0);
  });

  it("forgets a customer's personal data while decisions and the funnel stay", {
    timeout: 180_000,
  }, async () => {
    const { dataDir } = await bankOnDisk(12);
    await cli(["launch", "examples/dormant-reactivation.json", "--at", "2027-03-01T02:00:00Z"], { dataDir });
    const ledgerCsv = (await cli(["ledger", "dormant-2027q1", "--format", "csv"], { dataDir })).stdout;
    const sent = ledgerCsv
      .split("\n")
      .find((l) => l.includes(",sent,"))!
      .split(",")[0]!;
    const funnelBefore = (await cli(["funnel", "dormant-2027q1", "--json"], { dataDir })).json();

    const forgot = await cli(["customers", "forget", sent, "--json"], { dataDir });
    expect(forgot.code).toBe(0);
    expect(forgot.json()).toMatchObject({ customerId: sent, ledgerRowsScrubbed: 1 });
    expect((await cli(["funnel", "dormant-2027q1", "--json"], { dataDir })).json()).toEqual(funnelBefore);
    const row = (
      await cli(["ledger", "dormant-2027q1", "--customer", sent, "--json"], { dataDir })
    ).json() as { decision: string }[];
    expect(row[0]!.decision).toBe("sent");
    expect((await cli(["rebuild", "dormant-2027q1", "--json"], { dataDir })).json()).toMatchObject({
      matches: true,
    });
    expect((await cli(["customers", "forget", "nobody", "--json"], { dataDir })).code).toBe(1);
  });
});
