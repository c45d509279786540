import { afterEach, describe, expect, it } from "vitest";
import { saveCampaign } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { recordOptOut } from "#functions/contact/gate.ts";
import { forgetCustomer } from "#functions/customers/forget.ts";
import { CustomerInput, toCustomer } from "#functions/customers/record.ts";
import { putCustomers } from "#functions/customers/store.ts";
import { processDispatch, sendOne } from "#functions/dispatch/core.ts";
import { httpSmsProvider } from "#functions/dispatch/providers.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { decidePage, validateLaunch } from "#functions/launch/core.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { storeRequests } from "#platform/clients.ts";
import { Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * The four promises a bank adopts Tiercast for, under the timing that breaks naive designs: an
 * opt-out landing while sends are in flight, the pacer's wait crossing into quiet hours, and two
 * customers sharing one phone.
 */
let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const smsCampaign = (campaignId: string, tiers = ["potential", "quality"]) =>
  parseCampaign(
    dormantCampaign({
      campaignId,
      segment: { scheme: "retail", tiers, dormantDays: 180 },
      variants: [{ id: "A", tiers, channel: "sms", template: "{{name|客户}}您好，欢迎回来" }],
      holdoutPercent: 0,
    }),
    runtime!.config,
  );

/** Decides a campaign without enqueuing anything: its rows wait as queued for the test to send. */
async function decideWithoutSending(rt: Runtime, campaign: ReturnType<typeof smsCampaign>, at: string) {
  await saveCampaign(rt.repo, campaign, new Date(at));
  const deps = { ...rt.app.base(), enqueue: async () => {}, sweepAfterMs: 60_000 };
  await validateLaunch({ campaignId: campaign.campaignId, at }, deps);
  for (const tier of campaign.segment.tiers)
    for (let shard = 0; shard < rt.config.shards; shard++)
      await decidePage({ campaignId: campaign.campaignId, at, task: { tier, shard } }, deps);
  return ledgerRows(rt, campaign.campaignId);
}

/** A bank of 1,000 at `at`, its dispatch services, and a campaign decided without sending: its queued rows. */
async function queuedCampaign(campaignId: string, at: string) {
  runtime = await localBank(1_000, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime!, at);
  const dispatch = await startDispatch(runtime);
  const rows = await decideWithoutSending(runtime, smsCampaign(campaignId), at);
  const queued = rows
    .filter((r) => r.decision === "queued")
    .map((r) => ({ customerId: r.customerId, shard: r.shard }));
  return { dispatch, rows, queued };
}

describe("the promises under adversarial timing", () => {
  it("sends nothing to a customer once their opt-out is stored, even inside a message already being worked", {
    timeout: 180_000,
  }, async () => {
    const AT = "2027-03-01T02:00:00.000Z";
    const { dispatch, queued } = await queuedCampaign("optout-inflight", AT);
    const refs = queued.slice(0, 10);
    expect(refs).toHaveLength(10);
    // The pacer's wait stores opt-outs for the last five recipients, after the message's read of their
    // contact state and before the claim of all ten: exactly the window a stale read leaves open. (The
    // message's calls then start together, so no call waits behind another's: the window ends there.)
    const gateway = httpSmsProvider(dispatch.sms.endpoint);
    const late = new Set(refs.slice(5).map((r) => r.customerId));
    let first = true;
    const pace = async () => {
      if (!first) return;
      first = false;
      for (const id of late) await recordOptOut(runtime!.repo, id, "sms", AT, runtime!.secret);
    };
    const outcomes = await processDispatch(
      { campaignId: "optout-inflight", channel: "sms", recipients: refs },
      1,
      { ...runtime!.app.base(), providers: { sms: gateway }, pace, maxReceiveCount: 5, leaseMs: 30_000 },
    );
    expect(outcomes.slice(0, 5)).toEqual(["sent", "sent", "sent", "sent", "sent"]);
    expect(outcomes.slice(5)).toEqual(["excluded", "excluded", "excluded", "excluded", "excluded"]);
    const sentTo = dispatch.sms.messages.map((m) => m.tag.split("#")[1]!);
    expect(sentTo.filter((id) => late.has(id))).toEqual([]);
    const after = await ledgerRows(runtime!, "optout-inflight");
    for (const id of late) expect(after.find((r) => r.customerId === id)?.reason).toBe("opted_out");
  });

  it("makes no call outside quiet hours: the window is judged after the pacer's wait", {
    timeout: 180_000,
  }, async () => {
    const AT = "2027-03-01T13:59:58.000Z"; // 21:59:58 Asia/Shanghai
    runtime = await localBank(1_000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime!, AT);
    const dispatch = await startDispatch(runtime);
    const rows = await decideWithoutSending(runtime, smsCampaign("pacer-crosses-22h"), AT);
    const ref = rows.find((r) => r.decision === "queued")!;
    // The pacer's wait carries the clock past 22:00 (as a long backlog at the provider's rate does).
    const outcome = await sendOne({ customerId: ref.customerId, shard: ref.shard }, "pacer-crosses-22h", 1, {
      ...runtime!.app.base(),
      providers: { sms: httpSmsProvider(dispatch.sms.endpoint) },
      maxReceiveCount: 5,
      leaseMs: 30_000,
      pace: async () => setClock(runtime!, "2027-03-01T14:00:00.500Z"),
    });
    expect(outcome).toBe("deferred");
    expect(dispatch.sms.messages).toHaveLength(0);
    const row = (await ledgerRows(runtime, "pacer-crosses-22h")).find(
      (r) => r.customerId === ref.customerId,
    )!;
    expect(row).toMatchObject({ decision: "deferred", dueAt: "2027-03-02T00:00:00.000Z" });
    expect(row.attemptedAt).toBeUndefined();
    // Its cap slot was given back: the send was not made today.
    const state = await runtime.repo.get(key.contactState(ref.customerId));
    expect(
      (state?.recent as { c: string }[] | undefined)?.filter((r) => r.c === "pacer-crosses-22h") ?? [],
    ).toEqual([]);
  });

  it("sends one marketing SMS a day to a phone shared by two customers, across campaigns", {
    timeout: 180_000,
  }, async () => {
    const AT = "2027-03-01T02:00:00.000Z";
    runtime = await localBank(200, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime!, AT);
    const shared = (customerId: string) =>
      toCustomer(
        CustomerInput.parse({
          customerId,
          name: "王伟",
          phone: "13911112222",
          aum: 20_000,
          consentSms: true,
          branchId: "BR1",
          openedAt: "2015-01-01",
          lastTransactionAt: "2026-01-01T00:00:00Z",
        }),
        runtime!.config,
      );
    await putCustomers(runtime.repo, [shared("SHARED-1"), shared("SHARED-2")], AT);
    const dispatch = await startDispatch(runtime);
    // Two campaigns, each reaching only one of the two (so launch-time duplicate-contact cannot help).
    for (const [id, tiers] of [
      ["shared-phone-a", ["potential"]],
      ["shared-phone-b", ["potential"]],
    ] as const) {
      const campaign = smsCampaign(id, [...tiers]);
      expect((await launchCampaign(runtime, campaign, new Date(AT))).status).toBe("SUCCEEDED");
    }
    const toShared = dispatch.sms.messages.filter((m) => m.to === "+8613911112222");
    expect(toShared).toHaveLength(1);
  });
  it("claims a message's ten recipients, with their contact slots, in one transaction and settles them in one", {
    timeout: 180_000,
  }, async () => {
    const { dispatch, queued } = await queuedCampaign("batched", "2027-03-01T02:00:00.000Z");
    const refs = queued.slice(0, 10);
    // Ten calls in flight at once: the gateway sees them overlap (no call waits behind another).
    const gateway = httpSmsProvider(dispatch.sms.endpoint);
    let inFlight = 0;
    let most = 0;
    const provider = {
      async send(...args: Parameters<typeof gateway.send>) {
        most = Math.max(most, ++inFlight);
        try {
          return await gateway.send(...args);
        } finally {
          inFlight--;
        }
      },
    };
    const before = { ...storeRequests };
    const outcomes = await processDispatch({ campaignId: "batched", channel: "sms", recipients: refs }, 1, {
      ...runtime!.app.base(),
      providers: { sms: provider },
      maxReceiveCount: 5,
      leaseMs: 30_000,
    });
    expect(outcomes).toEqual(Array(10).fill("sent"));
    const made = Object.fromEntries(
      Object.entries(storeRequests).map(([name, n]) => [name, n - (before[name] ?? 0)]),
    );
    // Claims and slots in one transaction; settlements with their funnel and performance counters in
    // another (a send and its counts land together): two writes for ten sends.
    expect(made.TransactWriteItemsCommand).toBe(2);
    expect(made.UpdateItemCommand ?? 0).toBe(0);
    expect(made.PutItemCommand ?? 0).toBe(0);
    const funnel = await readFunnel(runtime!.repo, "batched");
    expect(funnel.total.sent).toBe(10);
    const after = await ledgerRows(runtime!, "batched");
    for (const ref of refs)
      expect(after.find((r) => r.customerId === ref.customerId)).toMatchObject({
        decision: "sent",
        attempts: 1,
      });
    for (const ref of refs) {
      const state = await runtime!.repo.get(key.contactState(ref.customerId));
      expect(((state?.recent ?? []) as { c: string }[]).filter((r) => r.c === "batched")).toHaveLength(1);
    }
    expect(most).toBe(10);
    expect(dispatch.sms.messages.filter((m) => m.tag.startsWith("batched#"))).toHaveLength(10);
    // A redelivered copy of the message reads the settled rows and writes nothing at all.
    const again = { ...storeRequests };
    expect(
      await processDispatch({ campaignId: "batched", channel: "sms", recipients: refs }, 2, {
        ...runtime!.app.base(),
        providers: { sms: provider },
        maxReceiveCount: 5,
        leaseMs: 30_000,
      }),
    ).toEqual(Array(10).fill("skipped"));
    const writes = ["TransactWriteItemsCommand", "UpdateItemCommand", "PutItemCommand"].map(
      (name) => (storeRequests[name] ?? 0) - (again[name] ?? 0),
    );
    expect(writes).toEqual([0, 0, 0]);
    // As on DynamoDB (a transaction costs twice its items' write units there): one by one, no transaction.
    const next = queued.slice(10, 20);
    const single = { ...storeRequests };
    const apart = new Repo(runtime!.repo.ddb, runtime!.repo.table);
    expect(
      await processDispatch({ campaignId: "batched", channel: "sms", recipients: next }, 1, {
        ...runtime!.app.base(),
        repo: apart,
        providers: { sms: provider },
        maxReceiveCount: 5,
        leaseMs: 30_000,
      }),
    ).toEqual(Array(10).fill("sent"));
    expect((storeRequests.TransactWriteItemsCommand ?? 0) - (single.TransactWriteItemsCommand ?? 0)).toBe(0);
    expect(dispatch.sms.messages.filter((m) => m.tag.startsWith("batched#"))).toHaveLength(20);
  });
  it("sends nothing of a message to a customer forgotten, nor after 22:00 reached, while it waited for the pacer", {
    timeout: 180_000,
  }, async () => {
    const AT = "2027-03-01T13:59:50.000Z"; // 21:59:50 Asia/Shanghai
    const { dispatch, queued } = await queuedCampaign("batched-waits", AT);
    const gateway = httpSmsProvider(dispatch.sms.endpoint);
    const deps = { ...runtime!.app.base(), providers: { sms: gateway }, maxReceiveCount: 5, leaseMs: 30_000 };
    // The pacer's wait: one recipient is forgotten (erasure removes the message the row would send).
    const [forgotten] = queued;
    let first = true;
    const forgetting = async () => {
      if (!first) return;
      first = false;
      await forgetCustomer(runtime!.repo, runtime!.config.shards, forgotten!.customerId, new Date(AT));
    };
    const outcomes = await processDispatch(
      { campaignId: "batched-waits", channel: "sms", recipients: queued.slice(0, 10) },
      1,
      { ...deps, pace: forgetting },
    );
    expect(outcomes[0]).not.toBe("sent");
    expect(outcomes.slice(1)).toEqual(Array(9).fill("sent"));
    expect(
      dispatch.sms.messages.filter((m) => m.tag === `batched-waits#${forgotten!.customerId}#sms`),
    ).toEqual([]);
    // The pacer's wait carries the clock past 22:00: the next message claims, and calls none.
    const late = async () => setClock(runtime!, "2027-03-01T14:00:00.500Z");
    const before = dispatch.sms.messages.length;
    expect(
      await processDispatch(
        { campaignId: "batched-waits", channel: "sms", recipients: queued.slice(10, 20) },
        1,
        { ...deps, pace: late },
      ),
    ).toEqual(Array(10).fill("deferred"));
    expect(dispatch.sms.messages.length).toBe(before);
    const rows = await ledgerRows(runtime!, "batched-waits");
    for (const ref of queued.slice(10, 20))
      expect(rows.find((r) => r.customerId === ref.customerId)).toMatchObject({
        decision: "deferred",
        dueAt: "2027-03-02T00:00:00.000Z",
      });
  });
});
