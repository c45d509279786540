import { mkdtempSync, rmSync } from "node:fs";
import * as nodeOs from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { decide, prepare } from "#functions/campaign/decide.ts";
import { type Channel, parseCampaign } from "#functions/campaign/schema.ts";
import { CustomerInput, toCustomer } from "#functions/customers/record.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { counterItems, counterSk, parseCounterSk } from "#functions/funnel/counters.ts";
import { startDispatch } from "#local/dispatch.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { syntheticCustomers, writeSyntheticBank } from "#local/synthetic.ts";
import { storeItems, storeRequests } from "#platform/clients.ts";
import { parseConfig } from "#platform/config.ts";
import { batchWrite, mapLimit, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { runEstimate } from "./dryrun.ts";
import { simulate } from "./funnel.ts";
import { importFile } from "./import.ts";
import { launchCampaign } from "./launch.ts";
import { runPreview } from "./preview.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai: inside the sending window

export const BENCH_CAMPAIGN = {
  campaignId: "bench",
  name: "Benchmark: potential and quality by SMS",
  playbook: "dormant-reactivation",
  segment: { scheme: "retail", tiers: ["potential", "quality"], dormantDays: 1 },
  variants: [
    {
      id: "A",
      tiers: ["potential", "quality"],
      channel: "sms",
      template: "{{name|尊敬的客户}}您好，{{offer}}，欢迎回来。",
      offer: "本月消费满100元返20元",
    },
  ],
  holdoutPercent: 5,
};

interface Stage {
  seconds: number;
  items: number;
  perSecond: number;
  ofFloor?: number;
}

const stage = (seconds: number, items: number): Stage => ({
  seconds: round(seconds),
  items,
  perSecond: Math.round(items / seconds),
});
const round = (x: number) => Math.round(x * 100) / 100;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, (performance.now() - t) / 1000];
}

/** decide + render per recipient on one core, no I/O (the engine's own ceiling). */
export function coreMicrobench(n = 200_000) {
  const config = parseConfig({});
  const at = new Date(AT);
  const customers = [...syntheticCustomers({ customers: 20_000, seed: 9, at })].map((r) =>
    toCustomer(CustomerInput.parse(r), config),
  );
  const ctx = prepare(
    parseCampaign(
      {
        ...BENCH_CAMPAIGN,
        segment: { ...BENCH_CAMPAIGN.segment, tiers: ["mass", "potential", "quality", "key"] },
        variants: [{ ...BENCH_CAMPAIGN.variants[0], tiers: ["mass", "potential", "quality", "key"] }],
      },
      config,
    ),
    config,
    at,
    "bench-secret-0123456789",
  );
  let sink = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const d = decide(customers[i % customers.length]!, undefined, ctx);
    sink += d.message?.text?.length ?? 0;
  }
  const seconds = (performance.now() - t) / 1000;
  return { recipients: n, seconds: round(seconds), perSecond: Math.round(n / seconds), checksum: sink };
}

/** Single-item conditional updates per second, the shape of every dispatch write, 32 in flight. */
async function singleOpsPerSecond(runtime: Runtime) {
  const updates = 5_000;
  const [, seconds] = await timed(() =>
    mapLimit(
      Array.from({ length: updates }, (_, i) => i),
      32,
      (i) =>
        runtime.repo.ddb.send(
          new UpdateCommand({
            TableName: runtime.repo.table,
            Key: { PK: `FLOOR#${i % 64}`, SK: String(i) },
            UpdateExpression: "SET v = :v",
            ConditionExpression: "attribute_exists(PK)",
            ExpressionAttributeValues: { ":v": i },
          }),
        ),
    ),
  );
  return Math.round(updates / seconds);
}

/** The local store's and queue's raw throughput with the product's batch sizes: the floor each stage is compared with. */
async function ioFloor(runtime: Runtime) {
  const items = 20_000;
  const requests = Array.from({ length: items }, (_, i) => ({
    PutRequest: { Item: { PK: `FLOOR#${i % 64}`, SK: String(i), pad: "x".repeat(400) } },
  }));
  const [, writeSeconds] = await timed(() => batchWrite(runtime.repo.ddb, runtime.repo.table, requests, 8));
  const storeOpsPerSecond = await singleOpsPerSecond(runtime);
  const dispatch = await startDispatch(runtime, { workers: false });
  const url = dispatch.queues.urls["tiercast-rm-dlq"]!;
  const messages = 5_000;
  const [, queueSeconds] = await timed(async () => {
    const body = JSON.stringify({
      campaignId: "floor",
      channel: "sms",
      recipients: Array.from({ length: 10 }, (_, i) => ({ customerId: `C${i}`, shard: i })),
    });
    for (let i = 0; i < messages; i += 100)
      await Promise.all(
        Array.from({ length: 10 }, () =>
          dispatch.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: body })),
            }),
          ),
        ),
      );
    let received = 0;
    while (received < messages) {
      const got = await dispatch.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
      );
      const batch = got.Messages ?? [];
      received += batch.length;
      if (batch.length)
        await dispatch.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
    }
  });
  return {
    storeWritesPerSecond: Math.round(items / writeSeconds),
    storeOpsPerSecond,
    queueMessagesPerSecond: Math.round(messages / queueSeconds),
  };
}

export async function runBench(customers: number, onStage: (name: string) => void = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), "tiercast-bench-"));
  const config = parseConfig({ sms: { ratePerSecond: 1_000_000 }, email: { ratePerSecond: 1_000_000 } });
  const runtime = await startRuntime({ dataDir: join(dir, "data"), config, at: new Date(AT) });
  const began = performance.now();
  try {
    const stages: Record<string, Stage> = {};
    onStage("core microbenchmark");
    const core = coreMicrobench();
    onStage("I/O floor");
    const floor = await ioFloor(runtime);
    onStage("generate");
    const file = join(dir, "bank.jsonl");
    const [, genSeconds] = await timed(() =>
      writeSyntheticBank(file, { customers, seed: 42, at: new Date(AT) }),
    );
    stages.generate = stage(genSeconds, customers);
    onStage("import");
    const [imported, importSeconds] = await timed(() => importFile(runtime, file, new Date(AT)));
    stages.import = {
      ...stage(importSeconds, imported.imported),
      ofFloor: round(imported.imported / importSeconds / floor.storeWritesPerSecond),
    };
    const campaign = parseCampaign(BENCH_CAMPAIGN, config);
    onStage("preview");
    const [preview, previewSeconds] = await timed(() => runPreview(runtime, campaign, new Date(AT)));
    stages.preview = stage(previewSeconds, preview.audience);
    // The builder's sampled estimate (issue 21): its items are the customers it read, whatever the size.
    onStage("estimate");
    const [estimate, estimateSeconds] = await timed(() => runEstimate(runtime, campaign, new Date(AT)));
    stages.estimate = stage(estimateSeconds, estimate.sample.customersRead);
    // The store slows as it grows: its single-op floor is measured again with every customer in it.
    onStage("I/O floor at size");
    const storeOpsAtSize = await singleOpsPerSecond(runtime);
    onStage("launch + dispatch");
    const byCommandBefore = { ...storeRequests };
    const itemsBefore = {
      written: { ...storeItems.written },
      read: { ...storeItems.read },
      writtenByKind: { ...storeItems.writtenByKind },
    };
    const [launched, launchSeconds] = await timed(() => launchCampaign(runtime, campaign, new Date(AT)));
    // Every store request of the launch (decide, ledger, dispatch, progress checks), per message sent.
    // A send's own share is 3 conditional writes (cap slot, claim, settle) and, per SQS message of 10
    // recipients, one BatchGet, one campaign read and the counter updates: its floor is the store's
    // single-op rate divided by the measured requests per send.
    const launchRequests = Object.fromEntries(
      Object.entries(storeRequests).map(([name, n]) => [name, n - (byCommandBefore[name] ?? 0)]),
    );
    const requestsPerSend =
      Object.values(launchRequests).reduce((a, b) => a + b, 0) / Math.max(1, launched.sent);
    // The items behind those requests: a transaction of 30 items is one request and 30 items of the
    // store's work, which is what bounds the launch once requests are batched.
    const since = (now: Record<string, number>, before: Record<string, number>) =>
      Object.fromEntries(Object.entries(now).map(([name, n]) => [name, n - (before[name] ?? 0)]));
    const launchItems = {
      written: since(storeItems.written, itemsBefore.written),
      read: since(storeItems.read, itemsBefore.read),
      writtenByKind: since(storeItems.writtenByKind, itemsBefore.writtenByKind),
    };
    const perSend = (counts: Record<string, number>) =>
      Object.values(counts).reduce((a, b) => a + b, 0) / Math.max(1, launched.sent);
    stages.launch = stage(launchSeconds, preview.audience);
    stages.dispatch = {
      ...stage(launchSeconds, launched.sent),
      ofFloor: round(launched.sent / launchSeconds / (storeOpsAtSize / requestsPerSend)),
    };
    onStage("simulate");
    if (process.env.BENCH_STOP_WORKERS) await (await startDispatch(runtime)).stopWorkers();
    const kindsBeforeEvents = { ...storeItems.writtenByKind };
    const [sim, simSeconds] = await timed(() => simulate(runtime, "bench", 1));
    const events = Object.values(sim.events).reduce((a, b) => a + b, 0);
    stages.simulate = stage(simSeconds, events);
    // The events' path (receipts, opens, clicks, replies) item by item, per event ingested.
    const eventItems = since(storeItems.writtenByKind, kindsBeforeEvents);
    onStage("funnel read");
    const reads: number[] = [];
    for (let i = 0; i < 5; i++) reads.push((await timed(() => readFunnel(runtime.repo, "bench")))[1]);
    stages.funnelRead = {
      seconds: round(Math.min(...reads)),
      items: 1,
      perSecond: Math.round(1 / Math.min(...reads)),
    };
    // The same campaign's counters as 1M recipients would leave them after 30 days of events: the
    // partition grows with tiers × variants × channels × days, never with recipients.
    const scaled = await scaledCounters(
      runtime.repo,
      "bench",
      "bench-1m",
      1_000_000 / Math.max(1, preview.audience),
      30,
    );
    const reads1m: number[] = [];
    for (let i = 0; i < 5; i++) reads1m.push((await timed(() => readFunnel(runtime.repo, "bench-1m")))[1]);
    const seconds = (performance.now() - began) / 1000;
    return {
      customers,
      seconds: round(seconds),
      recipientsPerSecond: Math.round(preview.audience / (stages.preview.seconds + stages.launch.seconds)),
      audience: preview.audience,
      sent: launched.sent,
      stages,
      core,
      floor: { ...floor, storeOpsPerSecondAtSize: storeOpsAtSize },
      storeRequestsPerSend: round(requestsPerSend),
      launchStoreRequests: launchRequests,
      storeItemWritesPerSend: round(perSend(launchItems.written)),
      storeItemReadsPerSend: round(perSend(launchItems.read)),
      launchStoreItems: launchItems,
      storeItemWritesPerEvent: round(
        Object.values(eventItems).reduce((a, b) => a + b, 0) / Math.max(1, events),
      ),
      eventStoreItems: { events: sim.events, writtenByKind: eventItems },
      funnelReadMs: Math.round(Math.min(...reads) * 1000),
      funnelRead1m: {
        recipients: scaled.recipients,
        counterItems: scaled.items,
        ms: Math.round(Math.min(...reads1m) * 1000),
      },
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      machine: machine(),
    };
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  const os = nodeOs;
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  };
}

/** Copies a campaign's counters to another id, spread over `days` days and scaled by `factor`. */
async function scaledCounters(repo: Repo, from: string, to: string, factor: number, days: number) {
  const requests: { PutRequest: { Item: Record<string, unknown> } }[] = [];
  let recipients = 0;
  // Counters are write-sharded: sum each counter over its parts first.
  const totals = new Map<string, number>();
  for await (const item of counterItems(repo, from))
    totals.set(String(item.SK), (totals.get(String(item.SK)) ?? 0) + Number(item.n ?? 0));
  for (const [sk0, total] of totals) {
    const c = parseCounterSk(sk0);
    const n = Math.max(1, Math.round((total * factor) / days));
    for (let d = 0; d < days; d++) {
      const day = new Date(Date.UTC(2027, 2, 1 + d)).toISOString().slice(0, 10);
      const sk = counterSk(
        { tier: c.tier, variant: c.variant, channel: c.channel as Channel, holdout: c.holdout },
        day,
        c.stage,
      );
      requests.push({ PutRequest: { Item: { PK: key.funnelPartition(to), SK: sk, n } } });
      if (c.stage === "targeted") recipients += n;
    }
  }
  await batchWrite(repo.ddb, repo.table, requests, 4);
  return { recipients, items: requests.length };
}
