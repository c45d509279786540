import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const AT = "2027-03-01T02:00:00Z"; // 10:00 Asia/Shanghai
const CAMPAIGN = "examples/referral-drive.json";

describe("progress of long commands on stderr (off under --json and when stderr is not a terminal)", () => {
  let dataDir: string;
  let bank: string;
  beforeAll(async () => {
    const dir = tempDir();
    dataDir = join(dir, "data");
    bank = join(dir, "bank.jsonl");
    await cli([
      "generate",
      "--customers",
      "400",
      "--seed",
      "3",
      "--out",
      bank,
      "--at",
      "2027-02-28T00:00:00Z",
    ]);
  }, 120_000);

  it("prints none into a pipe: the import's stderr is empty", async () => {
    const result = await cli(["import", bank], { dataDir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
  });

  it("a launch shows where its funnel is when progress is asked for", { timeout: 180_000 }, async () => {
    const result = await cli(["launch", CAMPAIGN, "--at", AT], { dataDir, env: { TIERCAST_PROGRESS: "1" } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /^launch: targeted [\d,]+ · eligible [\d,]+ · sent [\d,]+.*done in \d+ s$/m,
    );
  });

  it("--json keeps stderr free of progress even when asked for", { timeout: 180_000 }, async () => {
    const result = await cli(["simulate", "referral-2027-spring", "--json", "--at", AT], {
      dataDir,
      env: { TIERCAST_PROGRESS: "1" },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/simulate:/);
    expect(result.json()).toHaveProperty("events");
  });
});
