import { parseConfig } from "../../functions/platform/config.ts";
import { RECIPIENTS_PER_MESSAGE } from "../../functions/platform/queue.ts";
import { MAX_RECEIVE_COUNT } from "../stacks/messaging-stack.ts";

/**
 * Scale and cost model of one campaign launch on AWS, computed from the settings the code and the
 * stacks really use (page size, shards, recipients per message, batch sizes, workflow poll interval).
 * Latencies and prices are stated assumptions (us-east-1 on-demand list prices), not measurements.
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
}

export const ASSUMPTIONS = {
  pageSeconds: 1.5, // one DecidePage invocation: query 1,000 customers, BatchGets, decide, BatchWrite, enqueue
  firstSendSeconds: 2.5, // Validate + first page + SQS → Lambda pickup
  workerMsPerRecipient: 60, // 6 DynamoDB operations + the provider call, per recipient
  lambdaGb: 1,
  workflowPollSeconds: 30,
  ledgerItemKb: 1.5,
  prices: {
    writeRequestPerMillion: 1.25, // DynamoDB on-demand WRU
    readRequestPerMillion: 0.25, // DynamoDB on-demand RRU
    sfnTransitionPerMillion: 25,
    sqsRequestPerMillion: 0.4,
    lambdaGbSecond: 0.0000133334, // arm64
    lambdaRequestPerMillion: 0.2,
  },
} as const;

export function scaleModel(input: ScaleInput): ScaleResult {
  const config = parseConfig(input.pageSize ? { pageSize: input.pageSize } : {});
  const a = ASSUMPTIONS;
  const audience = Math.round(input.customers * input.audienceShare);
  const sends = Math.round(audience * input.sendShare);
  // Every customer of the segment's tiers is paged through, per tier and shard (2 tiers here).
  const tiers = 2;
  const shardTasks = tiers * config.shards;
  const pages = Math.ceil(audience / config.pageSize) + shardTasks; // + the last partial page of each task
  const messages = Math.ceil(sends / RECIPIENTS_PER_MESSAGE);

  // Time: deciding runs 4 shard tasks at a time (the Map's MaxConcurrency); sending is capped by the provider.
  const pageSeconds = (a.pageSeconds * config.pageSize) / 1000;
  const decideSeconds = (pages / 4) * pageSeconds;
  const sendSeconds = sends / input.smsMps;
  const totalSeconds = Math.max(decideSeconds, sendSeconds) + a.firstSendSeconds;

  // DynamoDB: reads of the segment (eventually consistent, 4 KB units), contact states, ledger existence;
  // writes of ledger rows and duplicate-contact claims; then per send a strongly consistent read of its
  // row, customer and contact state (one BatchGet per message), three writes (cap slot, claim with the
  // attempt, settle), and per message the funnel counters (about two items).
  const readUnits =
    Math.ceil(audience * 0.5) /* segment query, ~1 KB items */ +
    audience /* contact state */ +
    audience /* ledger check */ +
    sends * 3 /* send-time BatchGet, strongly consistent: row, customer, state */;
  const writeUnits =
    audience * Math.ceil(a.ledgerItemKb) + sends /* contact claims */ + sends * 3 + messages * 2;
  const peakWriteUnitsPerSecond = Math.round(
    3.2 * input.smsMps + (config.pageSize * (Math.ceil(a.ledgerItemKb) + 1) * 4) / pageSeconds,
  );

  // Step Functions: per page DecidePage + Choice; per task Map iteration; the wait loop polls 3 states.
  const transitions = pages * 2 + shardTasks * 2 + Math.ceil(totalSeconds / a.workflowPollSeconds) * 3 + 10;
  const historyEvents = pages * 6 + shardTasks * 4 + Math.ceil(totalSeconds / a.workflowPollSeconds) * 8 + 20;

  // SQS: SendMessageBatch carries 10 messages; receives and deletes in batches of 10 (plus retries, up to maxReceiveCount).
  const sqsRequests = Math.ceil(messages / 10) * 3;

  // Lambda
  const gbSeconds = (pages * pageSeconds + (sends * a.workerMsPerRecipient) / 1000) * a.lambdaGb;
  const invocations = pages + Math.ceil(messages / 10) + Math.ceil(totalSeconds / a.workflowPollSeconds) + 2;
  // Workers needed to keep up with the provider: each recipient holds a worker for workerMsPerRecipient.
  const workersNeeded = Math.ceil((input.smsMps * a.workerMsPerRecipient) / 1000 / RECIPIENTS_PER_MESSAGE);

  const p = a.prices;
  const cost = {
    dynamodb: (writeUnits / 1e6) * p.writeRequestPerMillion + (readUnits / 1e6) * p.readRequestPerMillion,
    stepFunctions: (transitions / 1e6) * p.sfnTransitionPerMillion,
    sqs: (sqsRequests / 1e6) * p.sqsRequestPerMillion,
    lambda: gbSeconds * p.lambdaGbSecond + (invocations / 1e6) * p.lambdaRequestPerMillion,
  };
  const totalCost = cost.dynamodb + cost.stepFunctions + cost.sqs + cost.lambda;
  // Keep one execution's history under 80% of Step Functions' 25,000 events: the page size that does it.
  const fits = historyEvents <= 20_000;
  const recommendedPageSize = fits
    ? config.pageSize
    : Math.min(
        5_000,
        Math.ceil(
          (config.pageSize * (historyEvents - shardTasks * 4)) / (20_000 - shardTasks * 4 - 500) / 500,
        ) * 500,
      );
  return {
    fitsOneExecution: fits,
    recommendedPageSize,
    input,
    settings: {
      pageSize: config.pageSize,
      shards: config.shards,
      recipientsPerMessage: RECIPIENTS_PER_MESSAGE,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    },
    audience,
    sends,
    pages,
    messages,
    timeToFirstMessageSeconds: a.firstSendSeconds,
    decideSeconds: Math.round(decideSeconds),
    totalSeconds: Math.round(totalSeconds),
    dynamodb: { readUnits, writeUnits, peakWriteUnitsPerSecond },
    stepFunctions: { transitions, historyEvents, historyLimit: 25_000 },
    sqsRequests,
    lambda: { gbSeconds: Math.round(gbSeconds), invocations, workersNeeded },
    costUsd: Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    costPerMillionMessagesUsd: Math.round((totalCost / sends) * 1e6 * 100) / 100,
  };
}

export type ScaleResult = {
  input: ScaleInput;
  fitsOneExecution: boolean;
  recommendedPageSize: number;
  settings: { pageSize: number; shards: number; recipientsPerMessage: number; maxReceiveCount: number };
  audience: number;
  sends: number;
  pages: number;
  messages: number;
  timeToFirstMessageSeconds: number;
  decideSeconds: number;
  totalSeconds: number;
  dynamodb: { readUnits: number; writeUnits: number; peakWriteUnitsPerSecond: number };
  stepFunctions: { transitions: number; historyEvents: number; historyLimit: number };
  sqsRequests: number;
  lambda: { gbSeconds: number; invocations: number; workersNeeded: number };
  costUsd: Record<string, number>;
  costPerMillionMessagesUsd: number;
};

export function scaleMarkdown(m: ScaleResult): string {
  const f = (n: number) => n.toLocaleString("en-US");
  return `# Scale and cost model

Generated by \`npm run scale-model -- --customers ${m.input.customers} --sms-mps ${m.input.smsMps}\` from the code's real settings
(page size ${m.settings.pageSize}, ${m.settings.shards} shards, ${m.settings.recipientsPerMessage} recipients per SQS message,
maxReceiveCount ${m.settings.maxReceiveCount}). Latencies and prices are the assumptions in \`infra/scale/model.ts\`
(us-east-1 on-demand list prices, arm64 Lambda); the provider's own SMS price is not included.

| quantity | value |
|---|---|
| customers / audience / sends | ${f(m.input.customers)} / ${f(m.audience)} / ${f(m.sends)} |
| decide pages (1 Lambda call each) | ${f(m.pages)} |
| time to the first message | ~${m.timeToFirstMessageSeconds} s |
| deciding the whole audience | ~${f(m.decideSeconds)} s |
| total, at ${f(m.input.smsMps)} SMS/s | ~${f(m.totalSeconds)} s (${(m.totalSeconds / 3600).toFixed(1)} h) |
| Step Functions transitions / history events | ${f(m.stepFunctions.transitions)} / ${f(m.stepFunctions.historyEvents)} (limit ${f(m.stepFunctions.historyLimit)}) |
| DynamoDB read / write request units | ${f(m.dynamodb.readUnits)} / ${f(m.dynamodb.writeUnits)} |
| DynamoDB peak writes/s (spread over sharded keys) | ${f(m.dynamodb.peakWriteUnitsPerSecond)} |
| SQS requests | ${f(m.sqsRequests)} |
| Lambda GB-seconds / invocations / concurrent workers | ${f(m.lambda.gbSeconds)} / ${f(m.lambda.invocations)} / ${f(m.lambda.workersNeeded)} |
| cost: DynamoDB / Step Functions / SQS / Lambda (USD) | ${m.costUsd.dynamodb} / ${m.costUsd.stepFunctions} / ${m.costUsd.sqs} / ${m.costUsd.lambda} |
| **AWS cost per million messages** | **$${m.costPerMillionMessagesUsd}** |

${
  m.fitsOneExecution
    ? "The history stays under 80% of the 25,000-event limit because the workflow carries pages, not people."
    : `**At this size one execution's history would pass 80% of the 25,000-event limit: launch it with \`pageSize\` ${f(m.recommendedPageSize)} (config), or split the segment across launches.** Pages, not people, keep it bounded; the page size sets the bound.`
}
The provider's rate bounds the total; DynamoDB writes dominate the cost (a send is three conditional
writes, cap slot, claim and settle, the price of exactly once, plus the contact claim at decide time
and its share of the funnel counters).
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
  const model = scaleModel({
    customers: arg("customers", 10_000_000),
    smsMps: arg("sms-mps", 500),
    audienceShare: arg("audience-share", 0.41),
    sendShare: arg("send-share", 0.65),
    pageSize: arg("page-size", 1000),
  });
  const md = scaleMarkdown(model);
  if (process.argv.includes("--write")) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(new URL("../../docs/scale.md", import.meta.url), md);
  }
  process.stdout.write(process.argv.includes("--json") ? `${JSON.stringify(model, null, 2)}\n` : md);
}
