import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSegment, prepare } from "#functions/campaign/decide.ts";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { pagesOf, segmentTasks, shardTasks } from "#functions/campaign/segment.ts";
import type { Customer } from "#functions/customers/record.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { localBank } from "./bank.ts";

const AT = new Date("2027-03-01T02:00:00.000Z"); // 10:00 on 1 March, Asia/Shanghai
const TIERS = ["mass", "potential", "quality", "key", "private"];

let runtime: Runtime;

describe("care triggers read a sparse index (birthday month-day), not whole tiers", () => {
  beforeAll(async () => {
    runtime = await localBank(3_000, AT);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  const everyone = async () => {
    const all: Customer[] = [];
    for (const task of shardTasks(TIERS, runtime.config.shards))
      for await (const page of pagesOf(runtime.repo, "retail", task, 1000)) all.push(...page);
    return all;
  };

  it("reads only the customers born on today's month-day", async () => {
    const tasks = segmentTasks({ tiers: ["mass"], birthdayToday: true }, runtime.config.shards, "2027-03-01");
    expect(tasks).toHaveLength(runtime.config.shards);
    const read: Customer[] = [];
    for (const task of tasks)
      for await (const page of pagesOf(runtime.repo, "retail", task, 1000)) read.push(...page);
    const born = (await everyone()).filter((c) => c.birthday?.slice(5) === "03-01");
    expect(born.length).toBeGreaterThan(0);
    expect(read.every((c) => c.birthday?.slice(5) === "03-01")).toBe(true);
    // Every retail customer born today, of any tier (the segment's tier filter applies after), once.
    expect(read.map((c) => c.customerId).sort()).toEqual(born.map((c) => c.customerId).sort());
  }, 60_000);

  it("pages the tiers instead on a table without the birthday index (an embedded data dir made before it)", () => {
    const tasks = segmentTasks({ tiers: ["mass"], birthdayToday: true }, 4, "2027-03-01", false);
    expect(tasks).toEqual(shardTasks(["mass"], 4));
  });

  it("previews a birthday segment with the same audience as filtering its tiers", async () => {
    const campaign = parseCampaign(
      {
        ...readCampaignFile("examples/dormant-reactivation.json", runtime.config),
        campaignId: "birthday-care",
        segment: { scheme: "retail", tiers: ["potential", "quality"], birthdayToday: true, dormantDays: 1 },
      },
      runtime.config,
    );
    const preview = await previewCampaign(runtime.repo, campaign, runtime.config, AT, runtime.secret);
    // The old way: every customer of the tiers, filtered by the segment (birthday, tier, dormancy).
    const ctx = prepare(campaign, runtime.config, AT, runtime.secret);
    const expected = (await everyone()).filter((c) => inSegment(c, ctx));
    expect(preview.audience).toBe(expected.length);
    expect(preview.audience).toBeGreaterThan(0);
  }, 60_000);
});
