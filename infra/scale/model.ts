import { parseConfig } from "../../functions/platform/config.ts";
import { RECIPIENTS_PER_MESSAGE } from "../../functions/platform/queue.ts";
import { MAX_RECEIVE_COUNT } from "../stacks/messaging-stack.ts";

/**
 * Scale and cost model of one campaign launch on AWS, computed from the settings the code and the
 * stacks really use (page size, shards, pages per child execution, recipients per message, the poll
 * back-off, worker pacing). History events per state are the embedded interpreter's count (local/sfn.ts,
 * which counts the way AWS does; test/unit/scale.test.ts runs the committed ASL through it and checks
 * these formulas). Store requests per send are the bench's measurement. Prices: us-east-1 list prices,
 * checked 2026-12 (DynamoDB on-demand since its November 2024 cut: $0.625 per million write request
 * units, $0.125 per million read request units).
 */
export interface ScaleInput {
  customers: number;
  smsMps: number;
  /** Share of customers in the campaign's segment (default: potential+quality ≈ 41% of the synthetic bank). */
  audienceShare: number;
  /** Share of the audience that is sent to (the rest: excluded or holdout; 65% on the synthetic bank). */
  sendShare: number;
  /** Customers per DecidePage call (config `pageSize`, default 1,000). */
  pageSize?: number;
  /** Tiers in the segment (each tier × shard is one Map item). */
  tiers?: number;
  /** Store requests per recipient sent, measured by `tiercast bench` (storeRequestsPerSend). */
  storeRequestsPerSend?: number;
}

/**
 * Measured on this repository's embedded runtime with single conditional writes, the path DynamoDB
 * takes (README "Benchmark", earlier table: 4.72 at 1M, 4.73 at 100k). The embedded runtime now
 * batches them into transactions (0.79–0.84 per send), which on DynamoDB would cost twice the write
 * units (Settings.batchedWrites), so the AWS model keeps the single-write count.
 */
export const MEASURED = {
  storeRequestsPerSend: 4.72,
  /** local/sfn.ts's count of the shard ASL: DecidePage (Lambda Task) 5 + MorePages? (Choice) 2. */
  historyEventsPerPage: 7,
  /**
   * Items the launch writes per recipient sent, by kind: `tiercast bench --customers 20000 --json`,
   * `launchStoreItems.writtenByKind` ÷ `sent` (5,047 sent of 7,784 decided, 2026-12-02). The items are
   * the same whether they go one by one (DynamoDB) or in transactions (the embedded store). The ledger
   * rows written at decide (1.54 per send there) are not in this list: they follow the send share.
   */
  launchItemWritesPerSend: {
    "ledger row: claim with the attempt, and settle": 10_094 / 5_047,
    "duplicate-contact claims at decide (every eligible recipient, sent or not)": 6_066 / 5_047,
    "frequency-cap slot on the contact state": 5_047 / 5_047,
    "frequency-cap slot on the address": 5_047 / 5_047,
    "performance counters (branch × RM, per message)": 3_916 / 5_047,
    "funnel counters (per message) and contact-state touches": (677 + 269) / 5_047,
  },
  /** The bench's whole launch: every item written per send, decide's rows included (storeItemWritesPerSend). */
  storeItemWritesPerSend: 7.71,
  /**
   * Items written per event ingested (receipts, clicks, replies, transactions), by kind: the same
   * bench's `eventStoreItems` (41,868 items for 5,881 events: 6.44 per event), and events per send.
   */
  itemWritesPerEvent: {
    "event id claimed, then marked applied": (5_881 + 5_881) / 5_881,
    "ledger row: stage move with its owed counts, then cleared": 11_827 / 5_881,
    "funnel and performance counters": (6_481 + 6_481) / 5_881,
    "unique-event marks and counters (first open, click, reply)": (439 * 3) / 5_881,
  },
  eventsPerSend: 5_881 / 5_047,
};

export const ASSUMPTIONS = {
  pageSeconds: 1.5, // one DecidePage invocation: query 1,000 customers, BatchGets, decide, BatchWrite, enqueue
  // Validate (0.3 s warm, ~1 s cold) + Map + child start (~0.3 s) + first page (1.5 s) + SQS → Lambda (~0.5 s) + send
  firstSendSeconds: 3.6,
  lambdaGb: 1,
  /** A worker paces to 50 SMS/s (its share of the account's rate: concurrency = rate ÷ 50, workflow-stack.ts). */
  workerMessagesPerSecond: 50,
  /** Item sizes (KB) that set write units: every item below 1 KB costs 1 WRU, and so does each GSI entry. */
  itemKb: { customer: 0.6, ledgerRow: 0.5, contactState: 0.3 },
  /**
   * Index entries a customer item has, every index projecting ALL (functions/platform/table.ts): the
   * tier (GSI1), sample (GSI5) and activity-day (GSI6) indexes for nearly all, the RM book (GSI3) and
   * birthday (GSI4) for most, the card tier (GSI2) for card holders. Each is a copy of the item in
   * storage and one more write unit when an import writes the customer.
   */
  customerIndexEntries: 5.5,
  prices: {
    writeRequestPerMillion: 0.625, // DynamoDB on-demand WRU (us-east-1, since Nov 2024)
    readRequestPerMillion: 0.125, // DynamoDB on-demand RRU
    storageGbMonth: 0.25,
    pitrGbMonth: 0.2,
    sfnTransitionPerMillion: 25,
    sqsRequestPerMillion: 0.4,
    lambdaGbSecond: 0.0000133334, // arm64
    lambdaRequestPerMillion: 0.2,
  },
  /** Fixed monthly charges of one deployment (USD), whatever is sent. */
  fixedMonthly: {
    "CloudWatch alarms (13 × $0.10)": 1.3,
    "CloudWatch dashboard": 3,
    "WAF web ACL + 2 rules": 7,
    "KMS key (receipts topic)": 1,
    "Secrets Manager (2 secrets)": 0.8,
    "release + scheduler functions every 5 min (17,280 invocations, ~2 s each)": 0.5,
    "Step Functions: none while idle": 0,
  },
} as const;

/** What AWS counts for a shard child execution that decides `pages` pages: start, pages, ChunkDone, end. */
export function shardExecutionEvents(pages: number): number {
  return 1 + MEASURED.historyEventsPerPage * pages + 2 + 1;
}

/** How many AwaitDispatch polls cover `seconds` under pollWaitSeconds' back-off (functions/launch/core.ts). */
export function pollsFor(seconds: number): number {
  let polls = 1;
  let waited = 0;
  while (waited < seconds) {
    waited += Math.min(300, 10 * 2 ** Math.floor((polls - 1) / 10));
    polls++;
  }
  return polls;
}

/**
 * The parent execution: start; Validate (5); the Map (4, plus 2 per item); per chunk RunShard
 * (startExecution.sync: 6) and ShardDone? (2), with NextChunk (2) between chunks and ShardDecided (2)
 * after the last; per poll AwaitDispatch (5) and AllTerminal? (2), WaitForWorkers (2) between polls;
 * Finalize (5), Launched (2), end.
 */
export function launchExecutionEvents(chunksPerTask: number[], polls: number): number {
  const items = chunksPerTask.reduce((sum, c) => sum + 2 + 8 * c + 2 * (c - 1) + 2, 0);
  return 1 + 5 + 4 + items + polls * 7 + (polls - 1) * 2 + 5 + 2 + 1;
}

export function scaleModel(input: ScaleInput): ScaleResult {
  const config = parseConfig(input.pageSize ? { pageSize: input.pageSize } : {});
  const a = ASSUMPTIONS;
  const p = a.prices;
  const tiers = input.tiers ?? 2;
  const audience = Math.round(input.customers * input.audienceShare);
  const sends = Math.round(audience * input.sendShare);
  const shardTasks = tiers * config.shards;
  // Every customer of the segment's tiers is paged through; the last page of each task is partial.
  const pagesPerTask = Math.ceil(audience / shardTasks / config.pageSize);
  const pages = pagesPerTask * shardTasks;
  const chunksPerTask = Math.max(1, Math.ceil(pagesPerTask / config.pagesPerExecution));
  const messages = Math.ceil(sends / RECIPIENTS_PER_MESSAGE);

  // Time: deciding runs 4 tasks at a time (the Map's MaxConcurrency); sending is capped by the provider.
  const pageSeconds = (a.pageSeconds * config.pageSize) / 1000;
  const decideSeconds = (pages / 4) * pageSeconds;
  const timeAt = (mps: number) => Math.round(Math.max(decideSeconds, sends / mps) + a.firstSendSeconds);
  const totalSeconds = timeAt(input.smsMps);

  // History: the largest child decides pagesPerExecution pages (or the whole task when smaller).
  const polls = pollsFor(totalSeconds);
  const maxChildEvents = shardExecutionEvents(Math.min(pagesPerTask, config.pagesPerExecution));
  const parentEvents = launchExecutionEvents(Array(shardTasks).fill(chunksPerTask), polls);
  const chunks = chunksPerTask * shardTasks;
  // Billed transitions: each state entered (a Map iteration's states included; the Map itself once).
  const transitions = pages * 2 + chunks * 2 + chunks * 3 + polls * 3 + 8;

  // DynamoDB write units per recipient sent, item by item (every item and index entry < 1 KB). The
  // items are the bench's measured counts (MEASURED); what only DynamoDB bills is added: the work index
  // entry (GSI3, projection ALL: every write to a row in it writes the entry too) and the SMS reply
  // pointer (on AWS only). Rows that are not sent (excluded, holdout) have no index entry: 1 unit each.
  const round2 = (n: number) => Math.round(n * 100) / 100;
  const writesPerSend: Record<string, number> = {
    "ledger row put at decide (one per recipient decided: 1 ÷ send share)": round2(1 / input.sendShare),
    "its work-index entry (queued rows)": 1,
    ...Object.fromEntries(Object.entries(MEASURED.launchItemWritesPerSend).map(([k, v]) => [k, round2(v)])),
    "work-index entry rewritten by the claim, removed by the settle": 2,
    "SMS reply pointer (phone → row)": 1,
    ...Object.fromEntries(
      Object.entries(MEASURED.itemWritesPerEvent).map(([k, v]) => [
        `events: ${k}`,
        round2(v * MEASURED.eventsPerSend),
      ]),
    ),
  };
  const writeUnitsPerSend = round2(Object.values(writesPerSend).reduce((s, n) => s + n, 0));
  // Reads: decide reads each audience customer's page share (eventually consistent, 4 KB units), its
  // contact state and ledger check (BatchGet, eventually consistent); a send reads row, customer and
  // contact state in one consistent BatchGet (1 RRU each); a receipt reads its row (consistent).
  const readUnitsPerAudience = (a.itemKb.customer / 4) * 0.5 + 0.5 + 0.5;
  const readUnitsPerSend = 3 + 1;
  const writeUnits = Math.round(sends * writeUnitsPerSend); // non-sends' rows are in the first item
  const readUnits = Math.round(audience * readUnitsPerAudience + sends * readUnitsPerSend);
  const storeRequests = Math.round(sends * (input.storeRequestsPerSend ?? MEASURED.storeRequestsPerSend));

  // SQS: one SendMessageBatch per 10 messages; receives and deletes in batches of 10.
  const sqsRequests = Math.ceil(messages / 10) * 3;

  // Lambda: deciding pages; workers paced to their share of the rate (duration = sends ÷ 50 per s);
  // the poll loop; receipts (one event per send, batches of 10, ~20 ms each).
  const workerSeconds = sends / a.workerMessagesPerSecond;
  const gbSeconds = (pages * pageSeconds + workerSeconds + polls * 0.2 + (sends / 10) * 0.2) * a.lambdaGb;
  const invocations = pages + Math.ceil(messages / 10) + polls + Math.ceil(sends / 10) + 2;

  const cost = {
    dynamodb: (writeUnits / 1e6) * p.writeRequestPerMillion + (readUnits / 1e6) * p.readRequestPerMillion,
    stepFunctions: (transitions / 1e6) * p.sfnTransitionPerMillion,
    sqs: (sqsRequests / 1e6) * p.sqsRequestPerMillion,
    lambda: gbSeconds * p.lambdaGbSecond + (invocations / 1e6) * p.lambdaRequestPerMillion,
  };
  const totalCost = cost.dynamodb + cost.stepFunctions + cost.sqs + cost.lambda;
  // Storage: customers (item + tier index entry), per month; ledger rows of one campaign for 90 days.
  const storageGb = (input.customers * a.itemKb.customer * (1 + a.customerIndexEntries)) / 1e6;
  // A full import of the bank writes every customer and its index entries (an unchanged one too).
  const fullImportUsd = ((input.customers * (1 + a.customerIndexEntries)) / 1e6) * p.writeRequestPerMillion;
  const fixed = Object.values(a.fixedMonthly as Record<string, number>).reduce((s, n) => s + n, 0);
  return {
    input,
    settings: {
      pageSize: config.pageSize,
      shards: config.shards,
      pagesPerExecution: config.pagesPerExecution,
      recipientsPerMessage: RECIPIENTS_PER_MESSAGE,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    },
    audience,
    sends,
    pages,
    messages,
    timeToFirstMessageSeconds: a.firstSendSeconds,
    decideSeconds: Math.round(decideSeconds),
    totalSeconds,
    secondsAt100Mps: timeAt(100),
    secondsAt1000Mps: timeAt(1000),
    dynamodb: { readUnits, writeUnits, writeUnitsPerSend, writesPerSend, storeRequests },
    stepFunctions: {
      transitions,
      childExecutions: chunks,
      maxEventsPerExecution: Math.max(maxChildEvents, parentEvents),
      parentEvents,
      maxChildEvents,
      polls,
      historyLimit: 25_000,
    },
    sqsRequests,
    lambda: { gbSeconds: Math.round(gbSeconds), invocations },
    costUsd: Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, round2(v)])),
    costPerMillionMessagesUsd: round2((totalCost / sends) * 1e6),
    fixedMonthlyUsd: round2(fixed + storageGb * (p.storageGbMonth + p.pitrGbMonth)),
    storageGb: Math.round(storageGb),
    fullImportUsd: round2(fullImportUsd),
  };
}

export type ScaleResult = {
  input: ScaleInput;
  settings: {
    pageSize: number;
    shards: number;
    pagesPerExecution: number;
    recipientsPerMessage: number;
    maxReceiveCount: number;
  };
  audience: number;
  sends: number;
  pages: number;
  messages: number;
  timeToFirstMessageSeconds: number;
  decideSeconds: number;
  totalSeconds: number;
  secondsAt100Mps: number;
  secondsAt1000Mps: number;
  dynamodb: {
    readUnits: number;
    writeUnits: number;
    writeUnitsPerSend: number;
    writesPerSend: Record<string, number>;
    storeRequests: number;
  };
  stepFunctions: {
    transitions: number;
    childExecutions: number;
    maxEventsPerExecution: number;
    parentEvents: number;
    maxChildEvents: number;
    polls: number;
    historyLimit: number;
  };
  sqsRequests: number;
  lambda: { gbSeconds: number; invocations: number };
  costUsd: Record<string, number>;
  costPerMillionMessagesUsd: number;
  fixedMonthlyUsd: number;
  storageGb: number;
  fullImportUsd: number;
};

export function scaleMarkdown(m: ScaleResult, at100M?: ScaleResult): string {
  const f = (n: number) => n.toLocaleString("en-US");
  const h = (s: number) => `${f(s)} s (${(s / 3600).toFixed(1)} h)`;
  const big = at100M
    ? `
At 100M customers (same shares): ${f(at100M.pages)} pages in ${f(at100M.stepFunctions.childExecutions)} child executions;
the most history events in any execution is **${f(at100M.stepFunctions.maxEventsPerExecution)}** (parent ${f(at100M.stepFunctions.parentEvents)},
largest child ${f(at100M.stepFunctions.maxChildEvents)}; limit 25,000); **$${at100M.costPerMillionMessagesUsd}** of AWS charges per million SMS.
`
    : "";
  return `# Scale and cost model

Generated by \`npm run scale-model -- --customers ${m.input.customers} --sms-mps ${m.input.smsMps}\` from the code's real settings
(page size ${m.settings.pageSize}, ${m.settings.shards} shards, ${f(m.settings.pagesPerExecution)} pages per child execution,
${m.settings.recipientsPerMessage} recipients per SQS message, maxReceiveCount ${m.settings.maxReceiveCount}). History events per state
are those the embedded interpreter counts (local/sfn.ts); store requests per send are the bench's; latencies and prices
are the assumptions in \`infra/scale/model.ts\` (us-east-1 list prices, arm64 Lambda); SMS fees are not included.

| quantity | value |
|---|---|
| customers / audience / sends | ${f(m.input.customers)} / ${f(m.audience)} / ${f(m.sends)} |
| decide pages (1 Lambda call each) / child executions | ${f(m.pages)} / ${f(m.stepFunctions.childExecutions)} |
| time to the first message | ~${m.timeToFirstMessageSeconds} s |
| deciding the whole audience | ~${f(m.decideSeconds)} s |
| total at ${f(m.input.smsMps)} SMS/s | ~${h(m.totalSeconds)} |
| total at 100 / 1,000 SMS/s | ~${h(m.secondsAt100Mps)} / ~${h(m.secondsAt1000Mps)} |
| history events: most in one execution (parent / largest child) | ${f(m.stepFunctions.maxEventsPerExecution)} (${f(m.stepFunctions.parentEvents)} / ${f(m.stepFunctions.maxChildEvents)}; limit ${f(m.stepFunctions.historyLimit)}) |
| dispatch polls (back-off 10 s → 5 min) / state transitions | ${f(m.stepFunctions.polls)} / ${f(m.stepFunctions.transitions)} |
| DynamoDB write units per send (itemized in the JSON) | ${m.dynamodb.writeUnitsPerSend} |
| DynamoDB read / write request units | ${f(m.dynamodb.readUnits)} / ${f(m.dynamodb.writeUnits)} |
| store requests (measured ${MEASURED.storeRequestsPerSend} per send) | ${f(m.dynamodb.storeRequests)} |
| SQS requests | ${f(m.sqsRequests)} |
| Lambda GB-seconds / invocations | ${f(m.lambda.gbSeconds)} / ${f(m.lambda.invocations)} |
| cost: DynamoDB / Step Functions / SQS / Lambda (USD) | ${m.costUsd.dynamodb} / ${m.costUsd.stepFunctions} / ${m.costUsd.sqs} / ${m.costUsd.lambda} |
| **AWS cost per million messages** | **$${m.costPerMillionMessagesUsd}** |
| fixed monthly (alarms, dashboard, WAF, keys, schedules, ${f(m.storageGb)} GB of customers and their index copies + PITR) | $${m.fixedMonthlyUsd} |
| one full import of the bank's customers (item + ${ASSUMPTIONS.customerIndexEntries} index entries each) | $${m.fullImportUsd} |
${big}
Every execution stays bounded whatever the bank's size: a child decides at most
${f(m.settings.pagesPerExecution)} pages (7 events each: never more than ${f(shardExecutionEvents(m.settings.pagesPerExecution))} events), and the parent pays
10–12 events per child and 9 per poll. The launch's 24-hour execution timeout, not its history,
bounds the longest send: at 100 SMS/s that is ~8.6M recipients per launch.
DynamoDB writes dominate the cost: a send is about ${m.dynamodb.writeUnitsPerSend} write units, the price of exactly once
(a claim and a settlement per recipient, each idempotent), of the frequency caps and contact
de-duplication, and of counters that survive a throttled write (an event is claimed, applied with
what it owes the counters, and marked). Item by item, per send (the item counts measured by
\`tiercast bench\`; the index entries and the reply pointer are what only DynamoDB writes):

| write units per send | |
|---|---|
${Object.entries(m.dynamodb.writesPerSend)
  .map(([k, v]) => `| ${k} | ${v} |`)
  .join("\n")}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isFinite(v) || v <= 0) {
      process.stderr.write(`scale-model: --${name} must be a positive number\n`);
      process.exit(2);
    }
    return v;
  };
  const input = {
    customers: arg("customers", 10_000_000),
    smsMps: arg("sms-mps", 500),
    audienceShare: arg("audience-share", 0.41),
    sendShare: arg("send-share", 0.65),
    pageSize: arg("page-size", 1000),
    storeRequestsPerSend: arg("store-requests-per-send", MEASURED.storeRequestsPerSend),
  };
  const model = scaleModel(input);
  const at100M = scaleModel({ ...input, customers: 100_000_000 });
  const md = scaleMarkdown(model, at100M);
  if (process.argv.includes("--write")) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(new URL("../../docs/scale.md", import.meta.url), md);
  }
  process.stdout.write(
    process.argv.includes("--json") ? `${JSON.stringify({ ...model, at100M }, null, 2)}\n` : md,
  );
}
