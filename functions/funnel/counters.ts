import { randomInt } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { localDay } from "#functions/campaign/time.ts";
import { type LedgerRow, STAGES, type Stage, stageIndex } from "#functions/ledger/rows.ts";
import {
  advanceRowStage,
  clearPendingCount,
  narrowPendingCount,
  pendingCount,
} from "#functions/ledger/transitions.ts";
import { MAX_TRANSACTION_ITEMS, type Repo, type UpdateParams, updateTogether } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/**
 * The zone of the funnel's day buckets when a caller has no config at hand. Callers pass the bank's
 * zone (config.quietHours.timeZone): a day is the bank's calendar day.
 */
export const TIME_ZONE = "Asia/Shanghai";

/** Counter key: one item per campaign × tier × variant × channel × day × stage (× holdout group). */
export function counterSk(
  row: Pick<LedgerRow, "tier" | "variant" | "channel" | "holdout">,
  day: string,
  stage: Stage,
) {
  return `C#${row.tier}#${row.variant ?? "-"}#${row.channel ?? "-"}#${day}#${stage}#${row.holdout ? "H" : "T"}`;
}

/**
 * Performance counter key (branch and RM performance, issue 19): one item per campaign × branch × RM ×
 * day × stage × group, in partitions of their own (PERF#…), so the campaign funnel's reads do not grow
 * with the number of RMs. The branch and RM are the ledger row's: the customer's when decided.
 */
export function perfSk(row: Pick<LedgerRow, "branchId" | "rmId" | "holdout">, day: string, stage: Stage) {
  return `P#${dim(row.branchId)}#${dim(row.rmId)}#${day}#${stage}#${row.holdout ? "H" : "T"}`;
}
// Ids may hold '#': encoded so the key splits back exactly; "-" is "none".
const dim = (v: string | undefined) => (v ? encodeURIComponent(v) : "-");
const undim = (v: string | undefined) => (!v || v === "-" ? undefined : decodeURIComponent(v));

export function parsePerfSk(sk: string) {
  const [, branch, rm, day, stage, group] = sk.split("#");
  return {
    branchId: undim(branch),
    rmId: undim(rm),
    day: day!,
    stage: stage as Stage,
    holdout: group === "H",
  };
}

export function parseCounterSk(sk: string) {
  const [, tier, variant, channel, day, stage, group] = sk.split("#");
  return {
    tier: tier!,
    variant: variant!,
    channel: channel!,
    day: day!,
    stage: stage as Stage,
    holdout: group === "H",
  };
}

/**
 * Counters are write-sharded: an increment goes to any of FUNNEL_PARTS partitions (they are sums, so
 * the part does not matter), so ~1,000 receipts/s of one campaign never meet one partition's write
 * limit. Every reader sums the parts (counterItems).
 */
export const FUNNEL_PARTS = 8;

/** Every counter item of a campaign, over its parts (and the partition counters lived in before sharding). */
export async function* counterItems(repo: Repo, campaignId: string) {
  yield* repo.queryAll(key.funnelPartition(campaignId));
  for (let part = 0; part < FUNNEL_PARTS; part++) yield* repo.queryAll(key.funnelPartition(campaignId, part));
}

/** Every performance counter item of a campaign (by branch and RM), over its parts. */
export async function* perfItems(repo: Repo, campaignId: string) {
  for (let part = 0; part < FUNNEL_PARTS; part++) yield* repo.queryAll(key.perfPartition(campaignId, part));
}

/** Adds increments: funnel keys (C#…) to the funnel's parts, performance keys (P#…) to theirs. */
/** The counter additions for `increments`, each on one of its counter's write-sharded parts. */
export function counterWrites(campaignId: string, increments: Map<string, number>): UpdateParams[] {
  return [...increments].map(([sk, n]) => ({
    Key: {
      PK: sk.startsWith("P#")
        ? key.perfPartition(campaignId, randomInt(FUNNEL_PARTS))
        : key.funnelPartition(campaignId, randomInt(FUNNEL_PARTS)),
      SK: sk,
    },
    UpdateExpression: "ADD #n :n",
    ExpressionAttributeNames: { "#n": "n" },
    ExpressionAttributeValues: { ":n": n },
  }));
}

export async function addCounters(repo: Repo, campaignId: string, increments: Map<string, number>) {
  const updates = counterWrites(campaignId, increments);
  // Unconditional additions to distinct items: a transaction of them can only be cancelled by a
  // conflict or a throttle, and then none applied, so they are added one by one instead.
  const oneByOne = (list: UpdateParams[]) =>
    Promise.all(list.map((u) => repo.ddb.send(new UpdateCommand({ TableName: repo.table, ...u }))));
  if (!repo.batchedWrites || updates.length < 2) return void (await oneByOne(updates));
  for (let i = 0; i < updates.length; i += MAX_TRANSACTION_ITEMS) {
    const chunk = updates.slice(i, i + MAX_TRANSACTION_ITEMS);
    if (!(await updateTogether(repo, chunk))) await oneByOne(chunk);
  }
}

/**
 * Moves a recipient's row forward to `stage` (never back) and counts it once: the conditional
 * update is the idempotency, so duplicate or out-of-order events change nothing.
 */
export async function advanceStage(
  repo: Repo,
  row: LedgerRow,
  stage: Stage,
  at: Date,
  extra: Record<string, unknown> = {},
  /** The event moving it: a retry of that event completes counts a cut-short first try still owed. */
  opId?: string,
  /** The bank's zone, whose calendar day the counts fall on. */
  timeZone = TIME_ZONE,
) {
  const target = stageIndex(stage);
  const op = opId ? { id: opId, at: at.toISOString() } : undefined;
  const previous = await advanceRowStage(repo, row, target, extra, op);
  if (previous !== undefined) {
    if (!opId) {
      await countStages(repo, row, previous, target, at, timeZone);
      return true;
    }
    await addOwed(repo, row, opId, stageIncrements(row, previous, target, at, timeZone));
    await clearPendingCount(repo, row, opId);
    return true;
  }
  if (!opId) return false;
  const owed = await pendingCount(repo, row, opId);
  if (!owed) return false;
  const increments = stageIncrements(owed.row, owed.from, owed.to, new Date(owed.at), timeZone);
  if (owed.owed) for (const sk of [...increments.keys()]) if (!owed.owed.includes(sk)) increments.delete(sk);
  await addOwed(repo, row, opId, increments);
  await clearPendingCount(repo, row, opId);
  return true;
}

/**
 * An operation's counter increments, each its own write: when some fail (one partition throttled) the
 * operation's marker is narrowed to the failed keys before the error goes up, so the retry adds only
 * those (the funnel's and the performance counters' partitions fail apart). Should the narrowing
 * itself fail, the marker still owes the whole move, and a retry adds the written keys again.
 */
async function addOwed(repo: Repo, row: LedgerRow, opId: string, increments: Map<string, number>) {
  const entries = [...increments];
  const results = await Promise.allSettled(
    entries.map((entry) => addCounters(repo, row.campaignId, new Map([entry]))),
  );
  const failed = entries.filter((_, i) => results[i]!.status === "rejected").map(([sk]) => sk);
  if (failed.length === 0) return;
  await narrowPendingCount(repo, row, opId, failed);
  throw (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason;
}

/** Counts a row's move from stage `from` to `to`: every stage passed on the way counts once (a click implies a delivery). */
export async function countStages(
  repo: Repo,
  row: LedgerRow,
  from: number,
  to: number,
  at: Date,
  timeZone = TIME_ZONE,
) {
  await addCounters(repo, row.campaignId, stageIncrements(row, from, to, at, timeZone));
}

/** The counter increments of a row's move from stage `from` to `to`. */
export function stageIncrements(row: LedgerRow, from: number, to: number, at: Date, timeZone = TIME_ZONE) {
  const increments = new Map<string, number>();
  const day = localDay(at, timeZone);
  for (let i = from + 1; i <= to; i++) {
    increments.set(counterSk(row, day, STAGES[i]!), 1);
    increments.set(perfSk(row, day, STAGES[i]!), 1);
  }
  return increments;
}
