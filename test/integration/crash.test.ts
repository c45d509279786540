import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const BIN = new URL("../../bin/tiercast.mjs", import.meta.url).pathname;

function sinkTags(dataDir: string): string[] {
  const path = join(dataDir, "sms-sink.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { tag: string }).tag);
}

describe("a launch killed mid-dispatch and started again", () => {
  it("finishes the campaign with every recipient terminal and no message sent twice", {
    timeout: 180_000,
  }, async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    expect(
      (
        await cli([
          "generate",
          "--customers",
          "4000",
          "--seed",
          "5",
          "--out",
          bank,
          "--at",
          "2027-02-28T00:00:00Z",
        ])
      ).code,
    ).toBe(0);
    expect((await cli(["import", bank, "--json"], { dataDir })).code).toBe(0);

    // Slow provider so the kill lands mid-dispatch.
    const child = spawn(
      process.execPath,
      [BIN, "--data-dir", dataDir, "--at", "2027-03-01T02:00:00Z", "launch", "examples/referral-drive.json"],
      {
        env: { ...process.env, TIERCAST_SMS_FAULTS: JSON.stringify({ slowMs: 5 }) },
        stdio: "ignore",
      },
    );
    const deadline = Date.now() + 60_000;
    while (sinkTags(dataDir).length < 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const partial = sinkTags(dataDir).length;
    expect(partial).toBeGreaterThanOrEqual(200);

    // Started again later (claims' leases have expired): the launch resumes from its ledger.
    const again = await cli(
      ["launch", "examples/referral-drive.json", "--json", "--at", "2027-03-01T02:10:00Z"],
      {
        dataDir,
        env: { SWEEP_AFTER_MS: "1000" },
      },
    );
    expect(again.code, again.stderr).toBe(0);
    const result = again.json() as { status: string; sent: number; unknown: number };
    expect(result.status).toBe("SUCCEEDED");
    const tags = sinkTags(dataDir);
    expect(tags.length, `partial ${partial}`).toBeGreaterThan(partial);
    expect(new Set(tags).size, "duplicate provider sends").toBe(tags.length);
    // Unknown outcomes the crash left were reconciled from the gateway's own record: what it received
    // is sent (with its id), what it provably never received was sent now. None is stranded.
    expect(result.unknown, JSON.stringify(result)).toBe(0);
    expect(tags.length, JSON.stringify(result)).toBe(result.sent);

    const ledger = await cli(["ledger", "referral-2027-spring", "--format", "csv"], { dataDir });
    const decisions = ledger.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",")[2]);
    const counts: Record<string, number> = {};
    for (const d of decisions) counts[d!] = (counts[d!] ?? 0) + 1;
    expect(
      decisions.every((d) => ["sent", "failed", "excluded", "holdout"].includes(d!)),
      JSON.stringify(counts),
    ).toBe(true);
    // The crash may have cut counter writes short of their settled rows; the repair restores them from
    // the ledger, and a second look finds nothing to repair.
    const repaired = await cli(["rebuild", "referral-2027-spring", "--repair", "--json"], { dataDir });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect((repaired.json() as { matches: boolean }).matches).toBe(true);
    const again2 = await cli(["rebuild", "referral-2027-spring", "--json"], { dataDir });
    expect((again2.json() as { matches: boolean }).matches).toBe(true);
  });
});
