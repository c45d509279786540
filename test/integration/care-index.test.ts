import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inSegment, prepare } from "#functions/campaign/decide.ts";
import { estimateCampaign } from "#functions/campaign/estimate.ts";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { activityDays, pagesOf, segmentTasks, shardTasks } from "#functions/campaign/segment.ts";
import { type Customer, lastActivityDay } from "#functions/customers/record.ts";
import { putCustomers } from "#functions/customers/store.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank } from "./bank.ts";

const AT = new Date("2027-03-01T02:00:00.000Z"); // 10:00 on 1 March, Asia/Shanghai
const TIERS = ["mass", "potential", "quality", "key", "private"];

let runtime: Runtime;

describe("care triggers read a care index (birthday month-day, last activity day), not whole tiers", () => {
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
    const tasks = segmentTasks(
      { tiers: ["mass"], birthdayToday: true },
      runtime.config.shards,
      AT,
      "2027-03-01",
    );
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
    const tasks = segmentTasks(
      { tiers: ["mass"], birthdayToday: true },
      4,
      AT,
      "2027-03-01",
      new Set(["GSI4"]),
    );
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

  const hoursAgo = (h: number) => new Date(AT.getTime() - h * 3_600_000).toISOString();
  /** Some customers opened an account or transacted in the last days (the synthetic bank has none opened). */
  const makeRecent = async () => {
    const all = await everyone();
    const changed = all
      .filter((c) => c.tier === "potential" || c.tier === "quality")
      .slice(0, 40)
      .map((c, i) => ({
        ...c,
        ...(i % 2 === 0
          ? { openedAt: hoursAgo(i * 3).slice(0, 10) }
          : { lastTransactionAt: hoursAgo(i * 2 + 0.5) }),
      }));
    await putCustomers(runtime.repo, changed, AT.toISOString());
  };

  // A thank-you (no playbook filter of its own: the reactivation's would add a dormancy).
  const ctxOf = (segment: Record<string, unknown>, id: string) =>
    parseCampaign(
      {
        ...readCampaignFile("examples/dormant-reactivation.json", runtime.config),
        playbook: "key-maintenance",
        campaignId: id,
        segment: { scheme: "retail", tiers: ["potential", "quality"], ...segment },
      },
      runtime.config,
    );

  it("reads only the customers active in the window's days, a day after another, resuming within a day", async () => {
    await makeRecent();
    const days = activityDays(AT, 72);
    expect(days).toEqual(["2027-02-26", "2027-02-27", "2027-02-28", "2027-03-01"]);
    const tasks = segmentTasks(
      { tiers: ["mass"], transactedWithinHours: 72 },
      runtime.config.shards,
      AT,
      "2027-03-01",
    );
    // One task per shard whatever the window's length.
    expect(tasks).toHaveLength(runtime.config.shards);
    const read: Customer[] = [];
    let pages = 0;
    for (const task of tasks)
      for await (const page of pagesOf(runtime.repo, "retail", task, 3)) {
        pages++;
        read.push(...page);
      }
    const active = (await everyone()).filter((c) => days.includes(lastActivityDay(c) ?? ""));
    expect(active.length).toBeGreaterThan(20);
    expect(pages).toBeGreaterThan(tasks.length); // pages of 3 resumed mid-day
    // The index holds corporate customers too (the segment's scheme filter applies after): compare the retail ones.
    expect(read.every((c) => days.includes(lastActivityDay(c) ?? ""))).toBe(true);
    const retail = read.filter((c) => c.kind === "retail");
    expect(retail.map((c) => c.customerId).sort()).toEqual(active.map((c) => c.customerId).sort());
  }, 60_000);

  it("previews opened- and transacted-within segments with the same audience as filtering their tiers", async () => {
    await makeRecent();
    for (const [id, segment] of [
      ["opened-care", { openedWithinHours: 48 }],
      ["deal-thanks", { transactedWithinHours: 24 }],
      ["both", { openedWithinHours: 720, transactedWithinHours: 30 }],
    ] as const) {
      const campaign = ctxOf(segment, id);
      const preview = await previewCampaign(runtime.repo, campaign, runtime.config, AT, runtime.secret);
      const ctx = prepare(campaign, runtime.config, AT, runtime.secret);
      const expected = (await everyone()).filter((c) => inSegment(c, ctx));
      expect(preview.audience, id).toBe(expected.length);
      if (id !== "both") expect(preview.audience, id).toBeGreaterThan(0);
    }
    const opened = ctxOf({ openedWithinHours: 48 }, "opened-care");
    const estimate = await estimateCampaign(runtime.repo, opened, runtime.config, AT, runtime.secret);
    expect(estimate.method).toBe("exact");
  }, 60_000);

  it("launches a transacted-within segment through the workflow: one ledger row per customer of the window", async () => {
    await makeRecent();
    const campaign = ctxOf({ transactedWithinHours: 72 }, "deal-thanks-launch");
    const preview = await previewCampaign(runtime.repo, campaign, runtime.config, AT, runtime.secret);
    expect(preview.audience).toBeGreaterThan(0);
    const launched = await launchCampaign(runtime, campaign, AT);
    expect(launched.status).toBe("SUCCEEDED");
    const rows = await ledgerRows(runtime, campaign.campaignId);
    expect(rows).toHaveLength(preview.audience);
  }, 120_000);

  it("pages the tiers instead on a table without the activity index", () => {
    const segment = { tiers: ["mass"], openedWithinHours: 24 };
    expect(segmentTasks(segment, 4, AT, "2027-03-01", new Set(["GSI6"]))).toEqual(shardTasks(["mass"], 4));
    expect(segmentTasks(segment, 4, AT, "2027-03-01")[0]?.activeDays).toEqual({
      from: "2027-02-28",
      to: "2027-03-01",
    });
  });
});
