import { afterEach, describe, expect, it } from "vitest";
import { saveCampaign } from "#functions/campaign/record.ts";
import { parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import { decidePage, validateLaunch } from "#functions/launch/core.ts";
import { exportRow } from "#functions/ledger/rows.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import { lambdaContext } from "#local/poller.ts";
import type { Runtime } from "#local/runtime.ts";
import { toMessages } from "#platform/queue.ts";
import { rebuild } from "../../cli/funnel.ts";
import { dlq, drainCampaigns, launchCampaign } from "../../cli/launch.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import {
  type ExportedRow,
  judge,
  type SinkLine,
  summarize,
  TOLERATE_UNRECONCILED_TIMEOUTS,
} from "./adversary.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * Redeliveries and a misbehaving gateway (issue 15's adversarial suite, in process): the same SQS
 * message delivered many times at once and again after it settled, two campaigns launched at the
 * same moment on overlapping customers through a slow gateway that fails and throttles. After each,
 * the promises are judged from the gateway's log and the ledger.
 */
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const smsCampaign = (campaignId: string, tiers: string[], playbook = "dormant-reactivation") =>
  parseCampaign(
    dormantCampaign({
      campaignId,
      segment: { scheme: "retail", tiers, dormantDays: 30 },
      variants: [{ id: "A", tiers, channel: "sms", template: `{{name|客户}}您好，${campaignId}` }],
      holdoutPercent: 5,
      ...(playbook === "dormant-reactivation" ? {} : { playbook: playbook as never }),
    }),
    runtime!.config,
  );

async function decideWithoutSending(rt: Runtime, campaign: ResolvedCampaign) {
  await saveCampaign(rt.repo, campaign, new Date(AT));
  const deps = { ...rt.app.base(), enqueue: async () => {}, sweepAfterMs: 60_000 };
  await validateLaunch({ campaignId: campaign.campaignId, at: AT }, deps);
  for (const tier of campaign.segment.tiers)
    for (let shard = 0; shard < rt.config.shards; shard++) {
      let cursor: string | undefined;
      do {
        const out = await decidePage(
          { campaignId: campaign.campaignId, at: AT, task: { tier, shard }, cursor },
          deps,
        );
        cursor = out.cursor;
      } while (cursor);
    }
  return ledgerRows(rt, campaign.campaignId);
}

async function until(what: string, done: () => boolean | Promise<boolean>, deadlineMs = 120_000) {
  const deadline = Date.now() + deadlineMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function verdictOf(
  dispatch: DispatchServices,
  campaignIds: string[],
  now = AT,
  tolerateReceivedUnknown = TOLERATE_UNRECONCILED_TIMEOUTS,
) {
  const ledgers: Record<string, ExportedRow[]> = {};
  for (const id of campaignIds)
    ledgers[id] = (await ledgerRows(runtime!, id)).map((r) => exportRow(r) as unknown as ExportedRow);
  const lines = dispatch.sms.messages as SinkLine[];
  return { verdict: judge({ lines, ledgers, optOuts: [], now, tolerateReceivedUnknown }), ledgers, lines };
}

function expectPromisesKept(v: Awaited<ReturnType<typeof verdictOf>>["verdict"], context: string) {
  const msg = `${JSON.stringify(summarize(v), null, 1)}\n${context}`;
  expect(v.duplicateSends, msg).toEqual([]);
  expect(v.duplicatePhoneDays, msg).toEqual([]);
  expect(v.outsideQuietHours, msg).toEqual([]);
  expect(v.stranded, msg).toEqual([]);
  expect(v.sentMismatch, msg).toEqual([]);
}

describe("redeliveries and a misbehaving gateway", () => {
  it("sends once whatever the number of deliveries of a message, concurrent or after it settled", {
    timeout: 240_000,
  }, async () => {
    // A gateway that now and then takes a send and never answers (the client gives up after 1 s).
    runtime = await localBank(2_000, new Date("2027-02-28T00:00:00Z"), {}, { smsTimeoutMs: 1000 });
    setClock(runtime, AT);
    const dispatch = await startDispatch(runtime, {
      concurrency: 4,
      smsFaults: { timeoutRate: 0.03, seed: 5 },
    });
    const campaign = smsCampaign("redelivered", ["potential", "quality"]);
    const rows = await decideWithoutSending(runtime, campaign);
    const refs = rows
      .filter((r) => r.decision === "queued" && r.channel === "sms")
      .map((r) => ({ customerId: r.customerId, shard: r.shard, tier: r.tier }));
    expect(refs.length).toBeGreaterThan(100);
    const messages = toMessages("redelivered", "sms", refs);
    const { enqueue } = runtime.app.base();

    // 1. Eight messages straight to the real handler, each record three times in one batch and in four
    //    concurrent invocations (as several Lambda instances receiving duplicates), the last of them on
    //    its final receive.
    // The real handler over the runtime's app (after startDispatch it holds the queue and gateway endpoints).
    const { dispatchHandler } = await import("#functions/dispatch/handler.ts");
    const rt = runtime;
    const handler = dispatchHandler(() => rt.app);
    const half = messages.slice(0, 8);
    const record = (body: unknown, n: number, receiveCount: number) => ({
      messageId: `dup-${n}`,
      receiptHandle: `rh-${n}`,
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:tiercast-sms",
      awsRegion: "us-east-1",
    });
    let n = 0;
    await Promise.all(
      half.flatMap((m) =>
        Array.from({ length: 4 }, (_, copy) =>
          (handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
            { Records: Array.from({ length: 3 }, () => record(m, ++n, 2 + copy)) },
            lambdaContext("tiercast-dispatch-sms"),
          ),
        ),
      ),
    );
    // 2. The rest through the real queue, each message four times: the pollers take the copies
    //    concurrently.
    const rest = messages.slice(half.length);
    for (let i = 0; i < 4; i++) await enqueue("sms", rest);
    await until("queue drained", () => dispatch.queues.depth("tiercast-sms") === 0);
    const sentOnce = dispatch.sms.messages.length;
    // 3. Every message delivered again once everything settled: nothing more goes out.
    await enqueue("sms", messages);
    await until("queue drained again", () => dispatch.queues.depth("tiercast-sms") === 0);
    expect(dispatch.sms.messages.length).toBe(sentOnce);
    // These messages came from no launch, so end them as a launch's AwaitDispatch or tick's drain would:
    // a send whose answer was lost (the gateway slower than the client's timeout, as on a loaded
    // machine) is settled from the gateway's own record. What the drain may still send is only what
    // never reached the gateway: on a loaded machine a message can use up its receives, or a direct
    // invocation fail with no queue to deliver it again (seen once at load 9: 31 such rows), and those
    // rows are owed their one send. Nothing that reached the gateway goes again.
    const received = new Set(dispatch.sms.messages.map((m) => (m as SinkLine).tag.split("#")[1]!));
    const owed = new Set(
      (await ledgerRows(runtime, "redelivered"))
        .filter((r) => !["sent", "failed", "excluded", "holdout"].includes(r.decision))
        .map((r) => r.customerId)
        .filter((c) => !received.has(c)),
    );
    await drainCampaigns(runtime, ["redelivered"]);
    const drained = (dispatch.sms.messages.slice(sentOnce) as SinkLine[]).map((m) => m.tag.split("#")[1]!);
    expect(
      drained.filter((c) => !owed.has(c)),
      `drain re-sent what the gateway had (owed ${owed.size})`,
    ).toEqual([]);
    expect(new Set(drained).size).toBe(drained.length);
    const sentTotal = dispatch.sms.messages.length;

    const { verdict, ledgers } = await verdictOf(dispatch, ["redelivered"]);
    const sentRows = ledgers.redelivered!.filter((r) => r.decision === "sent").length;
    // Received but left unknown (the known defect, when tolerated) are the only other gateway sends.
    const receivedUnknown = verdict.receivedUnknown.filter((u) => u.endsWith(": received")).length;
    expect(sentTotal, JSON.stringify(summarize(verdict))).toBe(sentRows + receivedUnknown);
    expectPromisesKept(verdict, `${messages.length} messages, ${refs.length} recipients`);
    expect((await rebuild(runtime, "redelivered")).differences).toEqual([]);
  });

  it("keeps the promises with two campaigns launched at once on overlapping customers through a slow, failing, throttling gateway", {
    timeout: 300_000,
  }, async () => {
    runtime = await localBank(
      2_000,
      new Date("2027-02-28T00:00:00Z"),
      {},
      { leaseMs: 1000, sweepAfterMs: 1500 },
    );
    setClock(runtime, AT);
    const dispatch = await startDispatch(runtime, {
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 1,
      smsFaults: { slowMs: 8, failRate: 0.12, throttleRate: 0.12, seed: 11 },
    });
    const a = smsCampaign("faulty-a", ["potential", "quality"]);
    const b = smsCampaign("faulty-b", ["quality", "key"]);
    const results = await Promise.all([
      launchCampaign(runtime, a, new Date(AT)),
      launchCampaign(runtime, b, new Date(AT)),
    ]);
    for (const r of results) expect(r.status, JSON.stringify(r)).toBe("SUCCEEDED");
    {
      const { verdict } = await verdictOf(dispatch, ["faulty-a", "faulty-b"]);
      expectPromisesKept(verdict, "after the launches");
    }
    // The gateway recovers; what exhausted its receives is redriven from the DLQ, still never twice.
    Object.assign(dispatch.sms.faults, { failRate: 0, throttleRate: 0 });
    await until("queue drained", () => dispatch.queues.depth("tiercast-sms") === 0);
    await dlq(runtime, "redrive");
    const { verdict, ledgers } = await verdictOf(dispatch, ["faulty-a", "faulty-b"]);
    expectPromisesKept(verdict, "after the redrive");
    // The overlapping customers got one of the two campaigns' SMS that day, never both.
    const sentA = new Set(ledgers["faulty-a"]!.filter((r) => r.decision === "sent").map((r) => r.customerId));
    const both = ledgers["faulty-b"]!.filter((r) => r.decision === "sent" && sentA.has(r.customerId));
    expect(both).toEqual([]);
    expect(
      ledgers["faulty-b"]!.filter((r) => r.reason === "frequency_capped").length +
        ledgers["faulty-a"]!.filter((r) => r.reason === "frequency_capped").length,
    ).toBeGreaterThan(0);
    for (const id of ["faulty-a", "faulty-b"]) expect((await rebuild(runtime, id)).differences).toEqual([]);
  });

  // Failed on 1ccfa7a (a timed-out call's `unknown` row left every index, so nothing ever reconciled
  // it: 313 of 1,500 customers' rows still unknown after the relaunch); passes since b86d657, whose
  // settleClaim puts an unknown row in UNKNOWN#<campaign>#<shard>.
  it("reconciles the unknown outcomes of a gateway that never answers, before a later relaunch ends", {
    timeout: 240_000,
  }, async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"), {}, { smsTimeoutMs: 300 });
    setClock(runtime, AT);
    const dispatch = await startDispatch(runtime, { smsFaults: { timeoutRate: 0.1, seed: 5 } });
    const campaign = smsCampaign("never-answers", ["potential", "quality"]);
    expect((await launchCampaign(runtime, campaign, new Date(AT))).status).toBe("SUCCEEDED");
    // The launch itself settles what the gateway received; nothing may be left for the relaunch to find.
    const before = (await ledgerRows(runtime, "never-answers")).filter((r) => r.decision === "unknown");
    expect(before).toEqual([]);
    // An hour later the gateway answers again and the campaign is relaunched: it reconciles.
    Object.assign(dispatch.sms.faults, { timeoutRate: 0 });
    const later = "2027-03-01T03:00:00.000Z";
    setClock(runtime!, later);
    const again = await launchCampaign(runtime, campaign, new Date(later));
    expect(again.unknown, JSON.stringify(again)).toBe(0);
    const { verdict } = await verdictOf(dispatch, ["never-answers"], later, false);
    expectPromisesKept(verdict, `${before.length} unknown after the first launch`);
  });
  // DEFECT (lead: functions/launch/core.ts). awaitDispatch ends the launch once nothing is in flight,
  // after one reconcileCampaign pass; reconcileUnknown skips every unknown row younger than
  // RECONCILE_AFTER_MS (30 s), so the unknown outcomes of the launch's own last calls are left unknown
  // until a relaunch that may never come (a tick reconciles only campaigns it released rows of; a
  // scheduled launch does not come back). Suggested fix: reconcileCampaign also returns how many unknown
  // rows are still too young to ask about, and awaitDispatch reports them in flight (so the Wait loop
  // comes back after them) instead of 0. Remove `.fails` once it holds. Until then the kill run counts
  // such rows apart (TOLERATE_UNRECONCILED_TIMEOUTS in adversary.ts).
  // Fixed: a "received" answer settles an unknown row at any age, and one the gateway never received
  // holds the launch open until it is off the wire and sent.
  it("ends a launch with no unknown outcome the gateway's own record can settle", {
    timeout: 240_000,
  }, async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"), {}, { smsTimeoutMs: 300 });
    setClock(runtime, AT);
    const dispatch = await startDispatch(runtime, { smsFaults: { timeoutRate: 0.1, seed: 5 } });
    const campaign = smsCampaign("ends-unknown", ["potential", "quality"]);
    const result = await launchCampaign(runtime, campaign, new Date(AT));
    expect(result.status).toBe("SUCCEEDED");
    expect(result.unknown, JSON.stringify(result)).toBe(0);
    const { verdict } = await verdictOf(dispatch, ["ends-unknown"], AT, false);
    expectPromisesKept(verdict, "after the launch");
  });
});
