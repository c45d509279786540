import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const dir = tempDir();
const dataDir = join(dir, "data");
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** A clear one-line error, the contract's exit code, and never a stack trace. */
function expectCleanFailure(result: { code: number; stderr: string }, code: number, pattern: RegExp) {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** Seeded bytes (every value 0–255 occurs), so a failure replays: random garbage made this test flaky. */
function garbageBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2_654_435_761;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("bad input: clear errors, and nothing already stored is lost", () => {
  beforeAll(async () => {
    const good = file(
      "good.jsonl",
      ['{"customerId":"G1","aum":20000}', '{"customerId":"G2","aum":400000}'].join("\n"),
    );
    expect((await cli(["import", good, "--json"], { dataDir })).json()).toEqual({
      imported: 2,
      rejected: [],
    });
  });

  // G2 is the only key customer: after every refusal it is still there, and still key.
  const stillThere = async () =>
    expect((await cli(["tiers", "--json"], { dataDir })).json()).toMatchObject({ retail: { key: 1 } });

  it("rejects binary garbage line by line and keeps the store intact", async () => {
    const garbage = file(
      "garbage.jsonl",
      Buffer.concat([
        garbageBytes(4096, 1),
        Buffer.from('\n{"customerId":"G3","aum":1}\n'),
        garbageBytes(1024, 2),
      ]),
    );
    const result = await cli(["import", garbage, "--json"], { dataDir });
    expect(result.code).toBe(0);
    const report = result.json() as { imported: number; rejected: { line: number; error: string }[] };
    expect(report.imported).toBe(1);
    expect(report.rejected.length).toBeGreaterThan(0);
    for (const r of report.rejected)
      expect(r.error).toMatch(/invalid JSON|expected a JSON object|line longer|not UTF-8 text/);
    expect((await cli(["tiers", "--json"], { dataDir })).json()).toMatchObject({
      retail: { mass: 1, potential: 1, key: 1 },
    });
  });

  it("rejects a huge line and wrong types, keeping the valid rows", async () => {
    const huge = file(
      "huge.jsonl",
      `{"customerId":"H1","name":"${"x".repeat(1_200_000)}"}\n{"customerId":"H2","aum":"abc"}\n{"customerId":"H3","aum":true}\n{"customerId":"H4","aum":15000}\n`,
    );
    const report = (await cli(["import", huge, "--json"], { dataDir })).json() as {
      imported: number;
      rejected: { line: number; error: string }[];
    };
    expect(report.imported).toBe(1);
    expect(report.rejected.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(report.rejected[0]!.error).toMatch(/longer than/);
  });

  it("reads a CSV with a BOM, CRLF and wrong types", async () => {
    const csv = file(
      "bad.csv",
      "\uFEFFcustomerId,aum,consentSms,lastTransactionAt\r\nC1,12000,yes,2026-01-01T00:00:00Z\r\nC2,-3,no,\r\nC3,100,maybe,\r\nC4,100,true,not-a-date\r\n",
    );
    const report = (await cli(["import", csv, "--json"], { dataDir })).json() as {
      imported: number;
      rejected: { line: number }[];
    };
    expect(report.imported).toBe(1);
    expect(report.rejected.map((r) => r.line)).toEqual([3, 4, 5]);
  });

  it("refuses a missing file, an unknown format, an oversized campaign and bad usage with the right codes", async () => {
    expectCleanFailure(await cli(["import", join(dir, "missing.jsonl")], { dataDir }), 2, /cannot read/);
    expectCleanFailure(await cli(["import", file("x.pdf", "x")], { dataDir }), 2, /\.jsonl, \.csv or \.xlsx/);
    expectCleanFailure(
      await cli(["preview", file("big.json", `{"campaignId":"x","pad":"${"y".repeat(1_100_000)}"}`)], {
        dataDir,
      }),
      2,
      /under 1 MB/,
    );
    expectCleanFailure(
      await cli(["preview", file("broken.json", "{nope")], { dataDir }),
      2,
      /not valid JSON/,
    );
    expectCleanFailure(await cli(["preview", join(dir, "nope.json")], { dataDir }), 2, /cannot read/);
    expectCleanFailure(await cli(["tiers", "--at", "tomorrow"], { dataDir }), 2, /--at/);
    expectCleanFailure(
      await cli(["generate", "--customers", "-5", "--out", join(dir, "g.jsonl")], { dataDir }),
      2,
      /customers/,
    );
    expectCleanFailure(await cli(["ledger", "no-such-campaign"], { dataDir }), 1, /no campaign/);
    expectCleanFailure(
      await cli(["--config", file("cfg.json", '{"shards":0}'), "tiers"], { dataDir }),
      2,
      /shards/,
    );
    await stillThere();
  });

  it("refuses a campaign naming unknown tiers, listing every problem on one line", async () => {
    const campaign = file(
      "unknown-tier.json",
      JSON.stringify({
        campaignId: "bad",
        playbook: "dormant-reactivation",
        segment: { scheme: "retail", tiers: ["diamond"] },
        variants: [{ id: "A", tiers: ["diamond"], channel: "email", template: "{{secret}}" }],
      }),
    );
    const result = await cli(["preview", campaign, "--json"], { dataDir });
    expectCleanFailure(
      result,
      2,
      /unknown tier "diamond".*subject: required.*unknown variable \{\{secret\}\}/,
    );
    expect((result.json() as { problems: string[] }).problems.length).toBeGreaterThanOrEqual(3);
  });

  it("reports malformed events by line and accepts the rest", async () => {
    const events = file(
      "events.jsonl",
      [
        '{"eventId":"e1","type":"opted_out","customerId":"G1","at":"2027-01-01T00:00:00Z"}',
        "\u0000\u0001garbage",
        '{"eventId":"e2","type":"opted_out","customerId":"G1"}',
      ].join("\n"),
    );
    const result = await cli(["events", "ingest", events, "--json"], { dataDir });
    expect(result.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { line: 2, error: "invalid JSON" },
        { line: 3, error: expect.stringMatching(/^at:/) },
      ],
    });
  });
});
