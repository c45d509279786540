import { createHash } from "node:crypto";
import { allocate, type DecideContext, decide, inSegment, prepare } from "#functions/campaign/decide.ts";
import { bindLaunch, finishLaunch, launchDefinition, loadCampaign } from "#functions/campaign/record.ts";
import { type Channel, parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import { contactStates, type ShardTask, segmentTasks, taskPage } from "#functions/campaign/segment.ts";
import { localDay } from "#functions/campaign/time.ts";
import { dynamoAllocator } from "#functions/contact/claims.ts";
import { recordHoldout } from "#functions/contact/gate.ts";
import {
  addCounters,
  counterItems,
  counterSk,
  parseCounterSk,
  perfSk,
  stageIncrements,
} from "#functions/funnel/counters.ts";
import { firstInFlight, ledgerStates, rowsInIndex } from "#functions/ledger/reads.ts";
import {
  type LedgerRow,
  type LedgerState,
  rowFromDecision,
  sendKey,
  stageIndex,
} from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { type DispatchMessage, type RecipientRef, toMessages } from "#platform/queue.ts";
import { batchGet, batchWrite, mapLimit, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/** The campaign was paused or cancelled before its launch started. */
export class CampaignNotLaunchableError extends Error {
  override name = "CampaignNotLaunchableError";
}

export interface LaunchDeps {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: () => Date;
  enqueue: (channel: Channel, messages: DispatchMessage[]) => Promise<void>;
  /** How long the in-flight set may stay unchanged before stale rows are swept (re-enqueued or marked unknown). */
  sweepAfterMs: number;
  /**
   * The provider's own record of a send, by our send key: where it can be asked (the embedded
   * gateway; a bank's gateway with the same shape), an `unknown` row is reconciled from it.
   */
  lookup?: ProviderLookup;
  /** How long an unknown row that nobody can reconcile waits before the policy settles it (at most once: failed). */
  unknownPolicyMs?: number;
  /** Time the current step has left (Lambda's context); long sweeps stop between shards when it runs low. */
  remainingMs?: () => number;
}

/** received: the provider has it (its id); absent: it provably does not; undefined: it cannot say. */
export type ProviderLookup = (
  channel: Channel,
  sendKey: string,
  /** Whose send and when it was tried: a vendor's query API searches by number and day. */
  attempt: { customerId: string; at: Date },
) => Promise<{ received: true; messageId: string } | { received: false } | undefined>;

/** An unknown row is asked about only once its request can no longer be on the wire. */
const RECONCILE_AFTER_MS = 30_000;
export const UNKNOWN_POLICY_MS = 24 * 3_600_000;

export interface LaunchInput {
  campaignId: string;
  at?: string;
}

// Versions are immutable, so a parsed definition is cached by campaign and version for good.
const campaignCache = new Map<string, ResolvedCampaign>();
async function campaignFor(deps: LaunchDeps, campaignId: string): Promise<ResolvedCampaign> {
  const { version, campaign: definition } = await launchDefinition(
    deps.repo,
    await loadCampaign(deps.repo, campaignId),
  );
  const cacheKey = `${campaignId}#${version}`;
  const cached = campaignCache.get(cacheKey);
  if (cached) return cached;
  const campaign = parseCampaign(definition, deps.config);
  campaignCache.set(cacheKey, campaign);
  return campaign;
}

/**
 * Step 1: bind the launch to its version (the approved one), check it is valid now (config may have
 * changed since it was saved), and list the shard tasks. Pages and workers read only that version.
 */
export async function validateLaunch(
  event: LaunchInput | { launch: LaunchInput; execution?: string },
  deps: LaunchDeps,
) {
  // The workflow passes its execution's name beside the launch input; the run id is made from it.
  const input = "launch" in event ? event.launch : event;
  const execution = "launch" in event ? event.execution : undefined;
  const at = input.at ?? deps.now().toISOString();
  const record = await loadCampaign(deps.repo, input.campaignId);
  if (record.status === "cancelled" || record.status === "paused")
    throw new CampaignNotLaunchableError(`campaign "${record.campaignId}" is ${record.status}`);
  await bindLaunch(deps.repo, record, at);
  const campaign = await campaignFor(deps, input.campaignId);
  return {
    campaignId: campaign.campaignId,
    at,
    run: runId(execution ?? `${campaign.campaignId}\n${at}`),
    pagesPerExecution: deps.config.pagesPerExecution,
    tasks: segmentTasks(
      campaign.segment,
      deps.config.shards,
      new Date(at),
      localDay(new Date(at), deps.config.quietHours.timeZone),
      deps.repo.missingIndexes,
    ),
  };
}

/**
 * The prefix of this launch attempt's child execution names: execution names are unique per state
 * machine (90 days on AWS), and a relaunch is a new parent execution, so its children get new names.
 */
export function runId(executionName: string): string {
  return createHash("sha256").update(executionName).digest("hex").slice(0, 16);
}

export interface PageInput {
  campaignId: string;
  at: string;
  task: ShardTask;
  /** Empty or absent: the task's first page. */
  cursor?: string;
  pages?: number;
  done?: boolean;
  /** The launch attempt's run id (names the child executions); carried through. */
  run?: string;
  /** Pages this child execution may still decide; the parent starts the next child at 0. */
  budget?: number;
  /** The full budget of a child, for the next one; carried through. */
  chunkBudget?: number;
}

/**
 * Step 2, one page of one shard: decide, allocate, write the ledger, count, enqueue. Re-running a page
 * (a retry, or a relaunch) finds its ledger rows and does nothing for them: one row per recipient.
 */
export async function decidePage(input: PageInput, deps: LaunchDeps): Promise<PageInput> {
  const campaign = await campaignFor(deps, input.campaignId);
  const now = new Date(input.at);
  const ctx: DecideContext = prepare(campaign, deps.config, now, deps.secret);
  const { repo } = deps;
  const page = await taskPage(
    repo,
    campaign.segment.scheme,
    input.task,
    input.cursor || undefined,
    deps.config.pageSize,
  );
  const audience = page.customers.filter((c) => inSegment(c, ctx));
  const existing = await batchGet(
    repo.ddb,
    repo.table,
    audience.map((c) => key.ledger(campaign.campaignId, c.shard, c.customerId)),
    8,
  );
  const done = new Set(existing.map((r) => String(r.customerId)));
  const fresh = audience.filter((c) => !done.has(c.customerId));
  const states = await contactStates(repo, fresh);
  const decisions = fresh.map((c) => decide(c, states.get(c.customerId), ctx));
  await allocate(decisions, dynamoAllocator(repo, campaign.campaignId, deps.config.shards), ctx);
  const decidedAt = deps.now().toISOString();
  const rows = decisions.map((d) => rowFromDecision(d, campaign.campaignId, decidedAt));
  await ledger.putRows(repo, rows);

  const day = localDay(now, deps.config.quietHours.timeZone);
  const increments = new Map<string, number>();
  const bump = (sk: string) => increments.set(sk, (increments.get(sk) ?? 0) + 1);
  const queued = new Map<Channel, RecipientRef[]>();
  for (const row of rows) {
    bump(counterSk(row, day, "targeted"));
    bump(perfSk(row, day, "targeted"));
    if (row.stage >= stageIndex("eligible")) {
      bump(counterSk(row, day, "eligible"));
      bump(perfSk(row, day, "eligible"));
    }
    if (row.decision === "queued" && row.channel) {
      const list = queued.get(row.channel) ?? [];
      list.push({ customerId: row.customerId, shard: row.shard, tier: row.tier });
      queued.set(row.channel, list);
    }
  }
  await addCounters(repo, campaign.campaignId, increments);
  await recordTouches(repo, campaign, rows, decidedAt);
  for (const [channel, refs] of queued)
    await deps.enqueue(channel, toMessages(campaign.campaignId, channel, refs));
  return {
    campaignId: input.campaignId,
    at: input.at,
    task: input.task,
    cursor: page.cursor,
    pages: (input.pages ?? 0) + 1,
    done: !page.cursor,
    ...(input.run === undefined ? {} : { run: input.run }),
    ...(input.budget === undefined ? {} : { budget: input.budget - 1 }),
    ...(input.chunkBudget === undefined ? {} : { chunkBudget: input.chunkBudget }),
  };
}

/**
 * What attribution needs later: holdout members are remembered on their contact state (they get no
 * send to attribute to), and each referrer's code points back to them.
 */
async function recordTouches(repo: Repo, campaign: ResolvedCampaign, rows: LedgerRow[], at: string) {
  const holdouts = rows.filter((r) => r.holdout);
  await mapLimit(holdouts, 8, (row) =>
    recordHoldout(repo, row.customerId, { c: campaign.campaignId, at, pb: campaign.playbook }),
  );
  const codes = rows.filter((r) => r.referralCode);
  await batchWrite(
    repo.ddb,
    repo.table,
    codes.map((r) => ({
      PutRequest: {
        Item: {
          ...key.referralCode(r.referralCode!),
          campaignId: campaign.campaignId,
          referrerId: r.customerId,
        },
      },
    })),
    4,
  );
}

export interface DispatchProgress {
  inFlight: number;
  /** How many polls came before this one, and how long the workflow waits before the next. */
  polls?: number;
  waitSeconds?: number;
  signature?: string;
  since?: string;
  swept?: number;
  /** The shard an interrupted sweep continues from. */
  sweepFrom?: number;
}

/**
 * Step 3: are sends still in flight? Cheap (one Limit-1 query per shard). When the in-flight set has
 * not moved for `sweepAfterMs`, rows a crash left behind are swept: queued or lease-expired claims
 * without a send attempt are re-enqueued (the claim condition makes duplicates harmless); claims whose
 * send attempt had started become `unknown` and wait for a delivery receipt (never resent blindly).
 */
export async function awaitDispatch(
  input: LaunchInput & { dispatch?: DispatchProgress },
  deps: LaunchDeps,
): Promise<DispatchProgress> {
  const polls = (input.dispatch?.polls ?? -1) + 1;
  const progress = await dispatchProgress(input, deps);
  return { ...progress, polls, waitSeconds: pollWaitSeconds(polls) };
}

/**
 * The wait before the next poll: 10 s for the first 10 polls, then doubling every 10 polls up to 5
 * minutes. A small campaign finishes within seconds of its last send; a 28-hour send polls ~360 times
 * (~3,200 history events) instead of 10,000 times at a fixed 10 s.
 */
export function pollWaitSeconds(polls: number): number {
  return Math.min(300, 10 * 2 ** Math.floor(polls / 10));
}

async function dispatchProgress(
  input: LaunchInput & { dispatch?: DispatchProgress },
  deps: LaunchDeps,
): Promise<DispatchProgress> {
  const { repo } = deps;
  const shards = Array.from({ length: deps.config.shards }, (_, i) => i);
  const firsts = await mapLimit(shards, 8, async (shard) => {
    const first = await firstInFlight(repo, input.campaignId, shard);
    return first ? `${shard}:${first.customerId}:${first.decision}:${first.attempts ?? 0}` : "";
  });
  const inFlight = firsts.filter(Boolean).length;
  if (inFlight === 0) {
    // Before the launch ends, unknown outcomes a crash left are settled from the provider's record;
    // those it provably never received are sent now (in flight again).
    // Rows the provider says it never received wait out the wire time, then are sent: still in flight.
    const { requeued, waiting } = await reconcileCampaign(input.campaignId, deps);
    return requeued + waiting > 0
      ? { inFlight: requeued + waiting, since: deps.now().toISOString() }
      : { inFlight: 0 };
  }
  // Progress is the first in-flight row of each shard and the campaign's sent total (from its bounded
  // counter partition): a long backlog whose first rows wait their turn in the queue is still moving,
  // and must not be re-enqueued wholesale (that would only make duplicate messages to skip).
  let sent = 0;
  for await (const item of counterItems(repo, input.campaignId))
    if (parseCounterSk(String(item.SK)).stage === "sent") sent += Number(item.n ?? 0);
  const signature = `${firsts.join("|")}#sent=${sent}`;
  const now = deps.now();
  const previous = input.dispatch;
  if (previous?.signature !== signature || !previous.since)
    return { inFlight, signature, since: now.toISOString() };
  if (previous.sweepFrom === undefined && now.getTime() - Date.parse(previous.since) < deps.sweepAfterMs)
    return { inFlight, signature, since: previous.since };
  const { swept, nextShard } = await sweepInFlight(input.campaignId, deps, previous.sweepFrom ?? 0);
  // A sweep cut short by the step's time continues at the next poll, without waiting again.
  return nextShard === undefined
    ? { inFlight, signature, since: now.toISOString(), swept }
    : { inFlight, signature, since: previous.since, swept, sweepFrom: nextShard };
}

/** Stop sweeping (between shards) when the step has less than this left; the next poll continues. */
export const SWEEP_MARGIN_MS = 15_000;

/**
 * Re-enqueues (or settles) the rows a crash left in flight, shard by shard from `fromShard`, each
 * shard's messages sent before the next is read. Stops between shards when the step's time runs low
 * and says where to continue, so a backlog of any size never times the step out.
 */
export async function sweepInFlight(
  campaignId: string,
  deps: LaunchDeps,
  fromShard = 0,
): Promise<{ swept: number; nextShard?: number }> {
  const { repo } = deps;
  const now = deps.now();
  let swept = 0;
  for (let shard = fromShard; shard < deps.config.shards; shard++) {
    if (shard > fromShard && (deps.remainingMs?.() ?? Number.POSITIVE_INFINITY) < SWEEP_MARGIN_MS)
      return { swept, nextShard: shard };
    const requeue = new Map<Channel, RecipientRef[]>();
    const add = (channel: Channel, ref: RecipientRef) =>
      requeue.set(channel, [...(requeue.get(channel) ?? []), ref]);
    for await (const rows of rowsInIndex(repo, key.inflightPartition(campaignId, shard)))
      for (const row of rows) {
        const leaseOver = !row.leaseUntil || Date.parse(row.leaseUntil) < now.getTime();
        if (row.decision === "claimed" && leaseOver && row.attemptedAt) {
          if (await ledger.markUnknown(repo, row, now)) {
            const r = await reconcileUnknown({ ...row, decision: "unknown" }, deps);
            if (r.outcome === "requeued") add(row.channel!, r.ref);
          }
          swept++;
        } else if (row.channel && (row.decision === "queued" || (row.decision === "claimed" && leaseOver))) {
          add(row.channel, { customerId: row.customerId, shard: row.shard, tier: row.tier });
          swept++;
        }
      }
    for (const [channel, refs] of requeue) await deps.enqueue(channel, toMessages(campaignId, channel, refs));
  }
  return { swept };
}

/** Reconciles every unknown row of a campaign; returns how many were queued again (and enqueues them). */
export async function reconcileCampaign(
  campaignId: string,
  deps: LaunchDeps,
): Promise<{ requeued: number; waiting: number }> {
  const requeue = new Map<Channel, RecipientRef[]>();
  let waiting = 0;
  for (let shard = 0; shard < deps.config.shards; shard++)
    for await (const rows of rowsInIndex(deps.repo, ledger.unknownPartition(campaignId, shard)))
      for (const row of rows) {
        if (row.decision !== "unknown") continue;
        const r = await reconcileUnknown(row, deps);
        if (r.outcome === "waiting") waiting++;
        if (r.outcome === "requeued" && row.channel)
          requeue.set(row.channel, [...(requeue.get(row.channel) ?? []), r.ref]);
      }
  let requeued = 0;
  for (const [channel, refs] of requeue) {
    requeued += refs.length;
    await deps.enqueue(channel, toMessages(campaignId, channel, refs));
  }
  return { requeued, waiting };
}

/**
 * Settles an unknown row from the provider's own record: received → sent with its id (and its funnel
 * counters); provably not received → queued again (returned, for the caller to enqueue); neither after
 * the policy window → failed (at most once). Every move is conditional on the row still being unknown
 * under the same claim, so a late receipt or a second sweep cannot move it twice.
 */
export async function reconcileUnknown(row: LedgerRow, deps: LaunchDeps): Promise<Reconciled> {
  const { repo } = deps;
  const now = deps.now();
  const attempted = Date.parse(row.attemptedAt ?? row.at);
  if (!row.channel) return { outcome: "undecidable" };
  const found = await deps
    .lookup?.(row.channel, sendKey(row), { customerId: row.customerId, at: new Date(attempted) })
    .catch(() => undefined);
  // "Received" is proof at any age; "not received" only once the request can no longer be on the wire.
  if (found?.received) {
    const sent = stageIndex("sent");
    const moved = await ledger.reconcileSent(repo, row, found.messageId, Math.max(sent, row.stage), now);
    if (moved && row.stage < sent)
      await addCounters(
        repo,
        row.campaignId,
        stageIncrements(row, row.stage, sent, new Date(attempted), deps.config.quietHours.timeZone),
      );
    return { outcome: "settled" };
  }
  if (found && !found.received) {
    // An attempt stamped ahead of this clock comes from a process whose clock ran ahead (the embedded
    // runtime's --at): that process is gone (the row is unknown), so its request is off the wire.
    const age = now.getTime() - attempted;
    if (age >= 0 && age < RECONCILE_AFTER_MS) return { outcome: "waiting" };
    const moved = await ledger.reconcileRequeue(repo, row, now);
    return moved
      ? { outcome: "requeued", ref: { customerId: row.customerId, shard: row.shard, tier: row.tier } }
      : { outcome: "settled" };
  }
  if (now.getTime() - attempted >= (deps.unknownPolicyMs ?? UNKNOWN_POLICY_MS)) {
    await ledger.reconcileFailed(repo, row, now);
    return { outcome: "settled" };
  }
  return { outcome: "undecidable" };
}

/**
 * settled: sent or failed now; requeued: to be sent now; waiting: the provider says "not received"
 * but the request may still be on the wire (asked again shortly); undecidable: nobody can say yet.
 */
export type Reconciled =
  | { outcome: "settled" | "waiting" | "undecidable" }
  | { outcome: "requeued"; ref: RecipientRef };

export type LaunchSummary = Record<LedgerState, number> & {
  byTier: Record<string, Partial<Record<LedgerState, number>>>;
};

/** Counts ledger rows by state (projection of two attributes, shards in parallel). */
export async function countLedger(repo: Repo, campaignId: string, shards: number): Promise<LaunchSummary> {
  const summary = {
    queued: 0,
    claimed: 0,
    deferred: 0,
    sent: 0,
    failed: 0,
    unknown: 0,
    excluded: 0,
    holdout: 0,
    byTier: {},
  } as LaunchSummary;
  await mapLimit(
    Array.from({ length: shards }, (_, i) => i),
    8,
    async (shard) => {
      for await (const item of ledgerStates(repo, campaignId, shard)) {
        const d = item.decision;
        summary[d]++;
        const t = (summary.byTier[item.tier] ??= {});
        t[d] = (t[d] ?? 0) + 1;
      }
    },
  );
  return summary;
}

/** Step 4: the summary, stored on the campaign. Also the failure path (input.failed). */
export async function finalizeLaunch(
  input: LaunchInput & { failed?: boolean; error?: { Error?: string; Cause?: string } },
  deps: LaunchDeps,
) {
  const counts = await countLedger(deps.repo, input.campaignId, deps.config.shards);
  const { byTier, ...totals } = counts;
  const status = input.failed ? "FAILED" : "SUCCEEDED";
  const error = input.failed ? errorMessage(input.error) : undefined;
  await finishLaunch(deps.repo, input.campaignId, { failed: !!input.failed, summary: totals, error });
  return { campaignId: input.campaignId, status, ...totals, byTier, ...(error ? { error } : {}) };
}

function errorMessage(error: { Error?: string; Cause?: string } | undefined): string {
  if (!error) return "launch failed";
  try {
    const cause = JSON.parse(error.Cause ?? "{}") as { errorMessage?: string };
    return `${error.Error}: ${cause.errorMessage ?? error.Cause}`;
  } catch {
    return `${error.Error}: ${error.Cause}`;
  }
}
