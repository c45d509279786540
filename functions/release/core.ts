import { randomUUID } from "node:crypto";
import type { Channel } from "#functions/campaign/schema.ts";
import { readRows, rowsInIndex } from "#functions/ledger/reads.ts";
import { type LedgerRow, pausedPartition } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import { type DispatchMessage, type RecipientRef, toMessages } from "#platform/queue.ts";
import { mapLimit, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

export interface ReleaseDeps {
  repo: Repo;
  shards: number;
  now: () => Date;
  enqueue: (channel: Channel, messages: DispatchMessage[]) => Promise<void>;
  /** Rows released per page (each page is enqueued before the next is read). */
  pageSize?: number;
  /** Time this invocation has left (Lambda's context); a run stops between pages when it runs low. */
  remainingMs?: () => number;
}

export interface Released {
  released: number;
  /** Rows of an earlier, interrupted run enqueued again from its intents. */
  recovered: number;
  /** True when the run stopped for time with due rows left (the next run continues). */
  more: boolean;
  campaigns: Record<string, RecipientRef[]>;
}

export const RELEASE_PAGE = 200;
/** Stop starting pages when less than this is left (a page's writes and its SendMessageBatch fit). */
export const RELEASE_MARGIN_MS = 60_000;
/** An intent older than this belongs to a run that died between its rows' release and their enqueue. */
export const INTENT_STALE_MS = 120_000;
const INTENT_TTL_S = 7 * 86_400;

interface IntentRef extends RecipientRef {
  campaignId: string;
  channel: Channel;
}

/**
 * Moves the deferred rows due at `now` back to queued and enqueues them (tick locally, a scheduled
 * function on AWS), in bounded pages: each page's rows are named in an intent item first, then
 * released (conditionally, so racing runs release a row once), then enqueued, then the intent goes.
 * A run killed between a page's release and its enqueue leaves the intent, and the next run enqueues
 * those rows again before anything else (a second message for a row is harmless: the worker's claim
 * is conditional). So no row is ever left queued without a message, whatever the timeout.
 */
export async function releaseDue(deps: ReleaseDeps): Promise<Released> {
  const out: Released = { released: 0, recovered: 0, more: false, campaigns: {} };
  out.recovered = await recoverIntents(deps, out);
  // Resumed or cancelled campaigns first: their parked sends go back to the workers, who send them
  // (or drop them, cancelled). A wake is done only once every shard's paused partition is empty.
  for await (const wake of deps.repo.queryAll(key.releaseWake("").PK)) {
    const campaignId = String(wake.SK);
    for (let shard = 0; shard < deps.shards; shard++)
      if (!(await releasePartition(deps, out, pausedPartition(campaignId, shard), () => true)))
        return { ...out, more: true };
    await deps.repo.delete(key.releaseWake(campaignId));
  }
  for (let shard = 0; shard < deps.shards; shard++) {
    const due = (r: LedgerRow, now: string) => !!r.dueAt && r.dueAt <= now;
    if (!(await releasePartition(deps, out, key.duePartition(shard), due, true)))
      return { ...out, more: true };
  }
  return out;
}

/**
 * Releases the deferred rows of one work-index partition that `pick` accepts, page by page (the due
 * index only up to now). False when the invocation's time ran low before a page: the next run continues.
 */
async function releasePartition(
  deps: ReleaseDeps,
  out: Released,
  partition: string,
  pick: (row: LedgerRow, now: string) => boolean,
  upToNow = false,
): Promise<boolean> {
  const now = deps.now().toISOString();
  const pageSize = deps.pageSize ?? RELEASE_PAGE;
  const options = upToNow ? { pageSize, skUpTo: `${now}#~` } : { pageSize };
  for await (const rows of rowsInIndex(deps.repo, partition, options)) {
    const page = rows.filter((r) => r.decision === "deferred" && r.channel && pick(r, now));
    if (!page.length) continue;
    if ((deps.remainingMs?.() ?? Number.POSITIVE_INFINITY) < RELEASE_MARGIN_MS) return false;
    await releasePage(deps, page, now, out);
  }
  return true;
}

/** Asks the next release to wake a campaign's parked sends (a resume or a cancel of a paused campaign). */
export async function wakeCampaign(repo: Repo, campaignId: string, at: string): Promise<void> {
  await repo.put({ ...key.releaseWake(campaignId), at });
}

async function releasePage(deps: ReleaseDeps, rows: LedgerRow[], now: string, out: Released) {
  const intent = key.releaseIntent(`${now}#${randomUUID()}`);
  const refs: IntentRef[] = rows.map((r) => ({
    campaignId: r.campaignId,
    channel: r.channel!,
    customerId: r.customerId,
    shard: r.shard,
    tier: r.tier,
  }));
  await deps.repo.put({
    ...intent,
    refs,
    at: now,
    expiresAt: Math.floor(Date.parse(now) / 1000) + INTENT_TTL_S,
  });
  const moved = await mapLimit(rows, 8, (row) => ledger.releaseDeferred(deps.repo, row, now));
  const released = refs.filter((_, i) => moved[i]);
  await enqueueRefs(deps, released, out);
  out.released += released.length;
  await deps.repo.delete(intent);
}

/** Enqueues the rows of intents left by runs that died mid-page, then drops those intents. */
async function recoverIntents(deps: ReleaseDeps, out: Released): Promise<number> {
  const staleBefore = new Date(deps.now().getTime() - INTENT_STALE_MS).toISOString();
  let recovered = 0;
  for await (const item of deps.repo.queryAll(key.releaseIntent("").PK, { skUpTo: `${staleBefore}#~` })) {
    const refs = (item.refs ?? []) as IntentRef[];
    // Rows the dead run did not release are still deferred (and due): this run's pages release them.
    // Released ones are queued: enqueue them; any other state means a worker has them already.
    const rows = await readRows(deps.repo, refs);
    const queued = refs.filter((_, i) => rows[i]?.decision === "queued");
    await enqueueRefs(deps, queued, out);
    recovered += queued.length;
    await deps.repo.delete({ PK: String(item.PK), SK: String(item.SK) });
  }
  return recovered;
}

async function enqueueRefs(deps: ReleaseDeps, refs: IntentRef[], out: Released) {
  const groups = new Map<string, IntentRef[]>();
  for (const r of refs) {
    const k = `${r.campaignId}\u0000${r.channel}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const group of groups.values()) {
    const { campaignId, channel } = group[0]!;
    const plain = group.map(({ customerId, shard, tier }) => ({ customerId, shard, tier }));
    await deps.enqueue(channel, toMessages(campaignId, channel, plain));
    (out.campaigns[campaignId] ??= []).push(...plain);
  }
}
