import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

describe("tiercast import and tiers (embedded runtime, on disk)", () => {
  it("imports, reports bad lines, persists across invocations, and moves a customer between tiers on upsert", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const first = join(dir, "first.csv");
    writeFileSync(
      first,
      "\uFEFFcustomerId,kind,name,aum,phone,consentSms\r\n" +
        'K1,retail,"张三, Jr.",300000,13800138000,true\r\n' +
        "P1,retail,李四,10000,+8613900139000,true\r\n" +
        "X1,retail,坏数据,-5,,\r\n" +
        "M1,corporate,华信科技,250000000,,\r\n",
    );
    const imported = await cli(["import", first, "--json"], { dataDir });
    expect(imported.code).toBe(0);
    expect(imported.json()).toEqual({
      imported: 3,
      rejected: [{ line: 4, error: expect.stringMatching(/aum/) }],
    });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    const tiers = await cli(["tiers", "--json"], { dataDir });
    expect(tiers.json()).toEqual({
      retail: { mass: 0, potential: 1, quality: 0, key: 1, private: 0 },
      corporate: { class3: 0, class2: 0, class1: 1 },
    });

    const second = join(dir, "second.jsonl");
    writeFileSync(second, '{"customerId":"K1","aum":49999.99}\n{"customerId":"P1","aum":1000000}\n');
    expect((await cli(["import", second, "--json"], { dataDir })).json()).toEqual({
      imported: 2,
      rejected: [],
    });
    const after = (await cli(["tiers", "--json"], { dataDir })).json();
    expect(after).toEqual({
      retail: { mass: 0, potential: 1, quality: 0, key: 0, private: 1 },
      corporate: { class3: 0, class2: 0, class1: 1 },
    });
  });

  it("prints a readable table without --json", async () => {
    const dataDir = tempDir();
    const result = await cli(["tiers"], { dataDir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/scheme\s+tier\s+customers/);
  });

  it("exits 2 with a one-line error for a missing file, an unknown format and bad usage", async () => {
    const dataDir = tempDir();
    const missing = await cli(["import", join(dataDir, "nope.csv"), "--json"], { dataDir });
    expect(missing.code).toBe(2);
    // With --json the failure is also one JSON document on stdout.
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: "bad_input",
      message: expect.stringMatching(/cannot read/),
    });
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot read/);
    const format = await cli(["import", "data.numbers"], { dataDir });
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/\.jsonl, \.csv or \.xlsx/);
    expect((await cli(["no-such-command"], { dataDir })).code).toBe(2);
    expect((await cli(["tiers", "--at", "yesterday"], { dataDir })).code).toBe(2);
  });

  it("generates the same synthetic bank for the same seed", async () => {
    const dir = tempDir();
    const a = await cli([
      "generate",
      "--customers",
      "500",
      "--seed",
      "7",
      "--out",
      join(dir, "a.jsonl"),
      "--at",
      "2027-01-01T00:00:00Z",
    ]);
    const b = await cli([
      "generate",
      "--customers",
      "500",
      "--seed",
      "7",
      "--out",
      join(dir, "b.jsonl"),
      "--at",
      "2027-01-01T00:00:00Z",
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(dir, "a.jsonl"), "utf8")).toBe(readFileSync(join(dir, "b.jsonl"), "utf8"));
  });
});
