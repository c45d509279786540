import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const AT = "2027-03-01T02:00:00Z"; // 10:00 Asia/Shanghai
const CAMPAIGN = "examples/referral-drive.json";

interface LaunchJson {
  status: string;
  sent: number;
  deferred: number;
  failed: number;
  thisLaunch: { sent: number; deferred: number; failed: number };
}

describe("launch reports what this invocation did beside the campaign's totals (CONTRACT.md thisLaunch)", () => {
  let dataDir: string;
  beforeAll(async () => {
    const dir = tempDir();
    dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    await cli([
      "generate",
      "--customers",
      "300",
      "--seed",
      "5",
      "--out",
      bank,
      "--at",
      "2027-02-28T00:00:00Z",
    ]);
    expect((await cli(["import", bank], { dataDir })).code).toBe(0);
  }, 120_000);

  it("a first launch's thisLaunch equals its totals; a relaunch shows 0 and says so", {
    timeout: 240_000,
  }, async () => {
    const first = await cli(["launch", CAMPAIGN, "--at", AT, "--json"], { dataDir });
    expect(first.code, first.stderr).toBe(0);
    const a = first.json() as LaunchJson;
    expect(a.sent).toBeGreaterThan(0);
    expect(a.thisLaunch).toEqual({ sent: a.sent, deferred: a.deferred, failed: a.failed });

    const again = await cli(["launch", CAMPAIGN, "--at", AT, "--json"], { dataDir });
    expect(again.code, again.stderr).toBe(0);
    const b = again.json() as LaunchJson;
    expect(b.sent).toBe(a.sent); // the campaign's totals, kept
    expect(b.thisLaunch).toEqual({ sent: 0, deferred: 0, failed: 0 });

    const text = await cli(["launch", CAMPAIGN, "--at", AT], { dataDir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^This launch: sent 0, deferred 0, failed 0 \(already launched: nothing new; the table is the campaign's totals\)$/m,
    );
  });

  it("targets set reports every problem of the target at once (exit 2), nothing stored", async () => {
    const bad = await cli(
      [
        "targets",
        "set",
        "referral-2027-spring",
        "--period",
        "2027Q5",
        "--stage",
        "clicked",
        "--value",
        "-3",
        "--json",
      ],
      { dataDir },
    );
    expect(bad.code).toBe(2);
    const message = (bad.json() as { message: string }).message;
    expect(message).toMatch(/period/);
    expect(message).toMatch(/stage/);
    expect(message).toMatch(/value/);
    const listed = await cli(["targets", "referral-2027-spring", "--json"], { dataDir });
    expect((listed.json() as { targets: unknown[] }).targets).toEqual([]);
  });
});
