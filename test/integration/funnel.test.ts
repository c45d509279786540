import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decide, prepare } from "#functions/campaign/decide.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { setTarget, targetProgress } from "#functions/funnel/targets.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { key } from "#platform/table.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { ingestFile, rebuild, simulate } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { tempDir } from "../helpers.ts";
import { localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let rows: LedgerRow[];
const dir = tempDir();

function eventsFile(name: string, events: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${events.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("\n")}\n`);
  return path;
}

describe("funnel from events", () => {
  beforeAll(async () => {
    runtime = await localBank(2_000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    await startDispatch(runtime);
    await launchCampaign(
      runtime,
      readCampaignFile("examples/dormant-reactivation.json", runtime.config),
      new Date(AT),
    );
    rows = [];
    for (let shard = 0; shard < runtime.config.shards; shard++)
      for await (const item of runtime.repo.queryAll(key.ledgerPartition("dormant-2027q1", shard)))
        rows.push(item as unknown as LedgerRow);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("counts recipients, not events: known events give exact stage counts, and a replay changes nothing", async () => {
    const sent = rows.filter((r) => r.decision === "sent" && r.tier === "potential").slice(0, 10);
    expect(sent).toHaveLength(10);
    const events = [
      ...sent.slice(0, 8).map((r, i) => ({
        eventId: `d${i}`,
        type: "delivered",
        customerId: r.customerId,
        campaignId: "dormant-2027q1",
        at: "2027-03-01T03:00:00Z",
      })),
      // The same delivery again under another id, and a click for 3 of them (twice each).
      {
        eventId: "d0-again",
        type: "delivered",
        customerId: sent[0]!.customerId,
        campaignId: "dormant-2027q1",
        at: "2027-03-01T03:01:00Z",
      },
      ...sent.slice(0, 3).flatMap((r, i) => [
        {
          eventId: `c${i}`,
          type: "clicked",
          customerId: r.customerId,
          campaignId: "dormant-2027q1",
          at: "2027-03-01T04:00:00Z",
        },
        {
          eventId: `c${i}b`,
          type: "clicked",
          customerId: r.customerId,
          campaignId: "dormant-2027q1",
          at: "2027-03-01T04:05:00Z",
        },
      ]),
      // A transaction without a campaign id: attributed by last touch; one outside the 30-day window is not.
      {
        eventId: "t0",
        type: "transaction",
        customerId: sent[1]!.customerId,
        at: "2027-03-05T02:00:00Z",
        amount: 100,
      },
      {
        eventId: "t9",
        type: "transaction",
        customerId: sent[9]!.customerId,
        at: "2027-05-05T02:00:00Z",
        amount: 100,
      },
      "{not json",
      { eventId: "bad", type: "teleported", customerId: "x", at: "2027-03-01T00:00:00Z" },
    ];
    const before = await readFunnel(runtime.repo, "dormant-2027q1");
    const file = eventsFile("events.jsonl", events);
    const first = await ingestFile(runtime, file);
    expect(first.accepted).toBe(events.length - 2);
    expect(first.rejected.map((r) => r.line)).toEqual([events.length - 1, events.length]);
    const after = await readFunnel(runtime.repo, "dormant-2027q1");
    const potential = (f: typeof after) => f.byTier.potential!;
    expect(potential(after).delivered - potential(before).delivered).toBe(8);
    expect(potential(after).engaged - potential(before).engaged).toBe(3);
    expect(potential(after).converted - potential(before).converted).toBe(1);

    const second = await ingestFile(runtime, file);
    expect(second).toMatchObject({ accepted: 0, duplicates: events.length - 2 });
    expect(await readFunnel(runtime.repo, "dormant-2027q1")).toEqual(after);
  });

  it("agrees with a rebuild from the ledger after a simulated campaign", async () => {
    await simulate(runtime, "dormant-2027q1", 3);
    const result = await rebuild(runtime, "dormant-2027q1");
    expect(result.differences).toEqual([]);
    expect(result.matches).toBe(true);
    const funnel = await readFunnel(runtime.repo, "dormant-2027q1");
    const t = funnel.total;
    expect(t.targeted).toBeGreaterThanOrEqual(t.eligible);
    expect(t.eligible).toBeGreaterThanOrEqual(t.sent);
    expect(t.sent).toBeGreaterThanOrEqual(t.delivered);
    expect(t.delivered).toBeGreaterThanOrEqual(t.engaged);
    expect(t.engaged).toBeGreaterThanOrEqual(t.responded);
    expect(t.holdout).toBeGreaterThan(0);
    expect(t.upliftCi95[0]).toBeLessThanOrEqual(t.upliftCi95[1]);

    // Targets: progress over a period covering every day equals the funnel's treated counts.
    await setTarget(runtime.repo, {
      campaignId: "dormant-2027q1",
      period: "2027Q1",
      tier: "all",
      stage: "converted",
      value: 50,
    });
    await setTarget(runtime.repo, {
      campaignId: "dormant-2027q1",
      period: "2027Q1",
      tier: "potential",
      stage: "sent",
      value: 400,
    });
    await setTarget(runtime.repo, {
      campaignId: "dormant-2027q1",
      period: "2026-12",
      tier: "all",
      stage: "sent",
      value: 1,
    });
    const progress = await targetProgress(runtime.repo, "dormant-2027q1");
    const by = (period: string, tier: string) =>
      progress.find((p) => p.period === period && p.tier === tier)!;
    // (Stage counts in the funnel are the treated group's; the holdout's conversions are counted apart.)
    expect(by("2027Q1", "all").actual).toBe(t.converted);
    expect(by("2027Q1", "potential").actual).toBe(funnel.byTier.potential!.sent);
    expect(by("2027Q1", "potential").progress).toBe(
      Math.round((funnel.byTier.potential!.sent / 400) * 1000) / 10,
    );
    expect(by("2026-12", "all").actual).toBe(0);
  });

  it("honours an SMS reply 'R' at the customer's next send decision", async () => {
    const target = rows.find((r) => r.decision === "sent" && r.channel === "sms")!;
    await ingestFile(
      runtime,
      eventsFile("reply.jsonl", [
        {
          eventId: "r1",
          type: "replied",
          customerId: target.customerId,
          channel: "sms",
          text: "R",
          at: "2027-03-01T05:00:00Z",
        },
      ]),
    );
    const customer = (await getCustomer(runtime.repo, target.customerId))!;
    const state = (await runtime.repo.get(key.contactState(target.customerId))) as never;
    const campaign = parseCampaign(
      { ...readCampaignFile("examples/dormant-reactivation.json", runtime.config), campaignId: "next" },
      runtime.config,
    );
    const d = decide(
      customer,
      state,
      prepare(campaign, runtime.config, new Date("2027-03-03T02:00:00Z"), "s".repeat(20)),
    );
    expect(d).toMatchObject({ decision: "excluded", reason: "opted_out" });
  });

  it("converts a referrer when a referee opens an account with the code and funds it; not for self-referral", async () => {
    await launchCampaign(
      runtime,
      readCampaignFile("examples/referral-drive.json", runtime.config),
      new Date("2027-03-02T02:00:00Z"),
    );
    const referrer = (await (async () => {
      for (let shard = 0; shard < runtime.config.shards; shard++)
        for await (const item of runtime.repo.queryAll(key.ledgerPartition("referral-2027-spring", shard)))
          if (item.decision === "sent") return item as unknown as LedgerRow;
    })())!;
    const code = referrer.referralCode!;
    const before = (await readFunnel(runtime.repo, "referral-2027-spring")).total.converted;
    await ingestFile(
      runtime,
      eventsFile("referral.jsonl", [
        {
          eventId: "self",
          type: "account_opened",
          customerId: referrer.customerId,
          at: "2027-03-03T02:00:00Z",
          referralCode: code,
          amount: 50_000,
        },
        {
          eventId: "small",
          type: "account_opened",
          customerId: "NEW-1",
          at: "2027-03-03T02:00:00Z",
          referralCode: code,
        },
        {
          eventId: "small-dep",
          type: "deposit",
          customerId: "NEW-1",
          at: "2027-03-03T03:00:00Z",
          amount: 500,
        },
      ]),
    );
    expect((await readFunnel(runtime.repo, "referral-2027-spring")).total.converted).toBe(before);
    await ingestFile(
      runtime,
      eventsFile("funded.jsonl", [
        { eventId: "dep", type: "deposit", customerId: "NEW-1", at: "2027-03-04T03:00:00Z", amount: 10_000 },
      ]),
    );
    expect((await readFunnel(runtime.repo, "referral-2027-spring")).total.converted).toBe(before + 1);
    expect(
      await runtime.repo.get({ PK: "REWARD#referral-2027-spring", SK: referrer.customerId }),
    ).toMatchObject({ refereeId: "NEW-1", status: "due" });
  });
});
