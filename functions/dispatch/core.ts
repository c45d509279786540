import { randomUUID } from "node:crypto";
import {
  closedReason,
  type DecideContext,
  MARKETING_CHANNELS,
  prepare,
  type RenderedMessage,
} from "#functions/campaign/decide.ts";
import { type CampaignStatus, launchDefinition, loadCampaign } from "#functions/campaign/record.ts";
import { type Channel, parseCampaign } from "#functions/campaign/schema.ts";
import { inWindow, nextWindowStart } from "#functions/campaign/time.ts";
import {
  addressKey,
  addressOf,
  type ContactItem,
  releaseSendSlots,
  sendSlotWrites,
  takeSendSlots,
} from "#functions/contact/gate.ts";
import type { Customer } from "#functions/customers/record.ts";
import { itemToCustomer } from "#functions/customers/store.ts";
import { addCounters, counterWrites, stageIncrements } from "#functions/funnel/counters.ts";
import { type LedgerRow, sendKey, stageIndex } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import type { TiercastConfig } from "#platform/config.ts";
import {
  ProviderPermanentError,
  ProviderRetryableError,
  ProviderThrottledError,
  ProviderUnknownOutcomeError,
} from "#platform/errors.ts";
import { logger } from "#platform/logger.ts";
import { type DispatchMessage, type RecipientRef, toMessages } from "#platform/queue.ts";
import {
  batchGet,
  MAX_TRANSACTION_ITEMS,
  type Repo,
  type UpdateParams,
  updateTogether,
} from "#platform/repo.ts";
import { key } from "#platform/table.ts";

export interface SendContext {
  sendKey: string;
  campaignId: string;
  customerId: string;
}

/** A channel provider. Throws ProviderRetryableError, ProviderUnknownOutcomeError or ProviderPermanentError. */
export interface Provider {
  send(message: RenderedMessage, context: SendContext): Promise<{ messageId: string }>;
}

export interface DispatchDeps {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: () => Date;
  providers: Partial<Record<Channel, Provider>>;
  /** The queue's maxReceiveCount: on the last receive a retryable failure becomes `failed` (and the message goes to the DLQ). */
  maxReceiveCount: number;
  leaseMs: number;
  /** Waits for the provider's rate (messages/second). */
  pace?: Pacer;
  /** Write a messageId pointer per SMS, for two-way replies that carry only the messageId (AWS). */
  messagePointers?: boolean;
  /**
   * Sends recipients the provider throttled back to the queue after a delay, as a new message (so
   * throttling never spends the receive count that ends in the DLQ). Without it they retry in place.
   */
  enqueueLater?: (channel: Channel, messages: DispatchMessage[], delaySeconds: number) => Promise<void>;
  /** The first of those delays (it doubles per attempt). */
  throttleDelaySeconds?: number;
}

/** A recipient throttled this many times is failed (retryable: a DLQ redrive or relaunch sends it). */
export const MAX_THROTTLED_ATTEMPTS = 20;

/** The delay before a throttled recipient is tried again: exponential in its attempts, with jitter, ≤ 15 min (SQS's limit). */
export function throttleDelaySeconds(attempts: number, firstDelaySeconds = 5): number {
  const base = Math.min(900, firstDelaySeconds * 2 ** Math.max(0, attempts - 1));
  return Math.min(900, Math.round(base * (0.8 + Math.random() * 0.4)));
}

/** Where a provider's messageId points: the send it belongs to. Kept 90 days (TTL on AWS). */
export const messagePointerKey = (messageId: string) => ({ PK: `MSG#${messageId}`, SK: "MSG" });

/** Points a provider's messageId at its send (best effort: a receipt or reply without it is not attributed). */
export async function writeMessagePointer(
  repo: Repo,
  messageId: string,
  campaignId: string,
  customerId: string,
  sentAt: Date,
) {
  await repo
    .put({
      ...messagePointerKey(messageId),
      campaignId,
      customerId,
      expiresAt: Math.floor(sentAt.getTime() / 1000) + 90 * 86_400,
    })
    .catch((err: unknown) => logger.warn("message pointer not written", { error: (err as Error).message }));
}

export type Outcome =
  | "sent"
  | "skipped"
  | "deferred"
  | "excluded"
  | "failed"
  | "unknown"
  | "retry"
  | "throttled";

// Keyed by campaign and launched version: a version never changes, so neither does its context.
const contexts = new Map<string, DecideContext>();
async function contextFor(
  deps: DispatchDeps,
  campaignId: string,
  now: Date,
): Promise<DecideContext & { status: CampaignStatus }> {
  const record = await loadCampaign(deps.repo, campaignId);
  const version = record.launchVersion ?? record.version;
  let ctx = contexts.get(`${campaignId}#${version}`);
  if (!ctx) {
    const { campaign } = await launchDefinition(deps.repo, record);
    ctx = prepare(parseCampaign(campaign, deps.config), deps.config, now, deps.secret);
    contexts.set(`${campaignId}#${version}`, ctx);
  }
  return { ...ctx, now, status: record.status };
}

/** A marketing call is made only if it would still be inside the window this much later. */
export const CALL_GUARD_MS = 2_000;

/** What a send needs to know before it writes anything: the ledger row, the customer and their contact state. */
export interface Prefetched {
  row?: LedgerRow;
  customer?: Customer;
  state?: ContactItem;
  /** The contact item of the customer's address on the row's channel (shared phone or email). */
  address?: ContactItem;
}

/**
 * One strongly consistent BatchGet for every recipient of a message (3 items each), then one for
 * their addresses' contact items (known only once the customers are read).
 */
export async function prefetch(
  repo: Repo,
  campaignId: string,
  refs: readonly RecipientRef[],
  secret?: string,
): Promise<Map<string, Prefetched>> {
  const keys = refs.flatMap((r) => [
    key.ledger(campaignId, r.shard, r.customerId),
    key.customer(r.customerId),
    key.contactState(r.customerId),
  ]);
  const found = new Map<string, Prefetched>(refs.map((r) => [r.customerId, {}]));
  for (const item of await batchGet(repo.ddb, repo.table, keys, 4, true)) {
    const pk = String(item.PK);
    if (item.SK === "PROFILE" && pk.startsWith("CUST#")) {
      const slot = found.get(pk.slice(5));
      if (slot) slot.customer = itemToCustomer(item);
    } else if (item.SK === "STATE" && pk.startsWith("CUST#")) {
      const slot = found.get(pk.slice(5));
      if (slot) slot.state = item as ContactItem;
    } else {
      const slot = found.get(String(item.SK));
      if (slot && item.campaignId === campaignId) slot.row = item as unknown as LedgerRow;
    }
  }
  // No contact item yet means no sends and no opt-out (the read was consistent).
  for (const slot of found.values()) slot.state ??= {};
  if (secret) {
    const byAddress = new Map<string, Prefetched[]>();
    for (const slot of found.values()) {
      const address = slot.customer && slot.row?.channel && addressOf(slot.customer, slot.row.channel);
      if (!address) continue;
      const k = addressKey(secret, slot.row!.channel!, address).PK;
      byAddress.set(k, [...(byAddress.get(k) ?? []), slot]);
    }
    const keys = [...byAddress.keys()].map((PK) => ({ PK, SK: "STATE" }));
    for (const item of await batchGet(repo.ddb, repo.table, keys, 4, true))
      for (const slot of byAddress.get(String(item.PK)) ?? []) slot.address = item as ContactItem;
    // An address with no item yet has no sends and no opt-out: an empty state (version absent).
    for (const slots of byAddress.values()) for (const slot of slots) slot.address ??= {};
  }
  return found;
}

/**
 * Everything judged before a claim, from the message's one read: a row not ours to act on is skipped;
 * one not to be sent now is settled in one write (only if it is still ours when the write lands):
 * excluded (consent, a removed customer, a cancelled campaign), parked (paused) or deferred (quiet
 * hours). "ready" when the row is to be claimed and sent.
 */
async function judgeBeforeClaim(
  pre: Prefetched,
  ctx: DecideContext & { status: CampaignStatus },
  deps: DispatchDeps,
  now: Date,
): Promise<Outcome | "ready"> {
  const { repo } = deps;
  const current = pre.row;
  if (!current || !ledger.claimable(current, now)) return "skipped";
  const channel = current.channel!;
  const exclude = async (reason: string): Promise<Outcome> =>
    (await ledger.excludeUnclaimed(repo, current, reason, now)) ? "excluded" : "skipped";
  const reason = pre.customer ? closedReason(pre.customer, pre.state, channel, ctx) : "customer_removed";
  if (reason) return exclude(reason);
  if (ctx.status === "cancelled") return exclude("campaign_cancelled");
  // Paused: parked until a resume or cancel wakes the campaign (no re-checks while paused).
  if (ctx.status === "paused")
    return (await ledger.parkUnclaimed(repo, current, now)) ? "deferred" : "skipped";
  if (MARKETING_CHANNELS.has(channel) && !inWindow(now, deps.config.quietHours)) {
    const dueAt = nextWindowStart(now, deps.config.quietHours).toISOString();
    return (await ledger.deferUnclaimed(repo, current, dueAt, now)) ? "deferred" : "skipped";
  }
  return "ready";
}

/**
 * Sends to one recipient at most once. The ledger row is the only truth and moves by conditional
 * writes. Everything that could have changed since the decision is judged again from one read, and a
 * row that is not to be sent is settled in one write (only if it is still ours to act on). A send is
 * then the cap slot, the claim (which records the attempt before the provider call, so a crash can
 * never lead to a blind resend), the provider call and the settle. A duplicate SQS delivery of a
 * settled row costs no write at all.
 */
export async function sendOne(
  ref: RecipientRef,
  campaignId: string,
  receiveCount: number,
  deps: DispatchDeps,
  /** The campaign (and its status) as read once for the whole SQS message; read here when absent. */
  campaign?: DecideContext & { status: CampaignStatus },
  /** The row, customer and state as read once for the whole message; read here when absent. */
  known?: Prefetched,
  /** Funnel counter increments, written once per message by the caller; written here when absent. */
  counters?: Map<string, number>,
  /** The pacer's token for this send was already taken (a batch that fell back to single sends). */
  paced = false,
): Promise<Outcome> {
  const { repo } = deps;
  const now = deps.now();
  const [ctx, pre] = await Promise.all([
    campaign ? { ...campaign, now } : contextFor(deps, campaignId, now),
    known ?? prefetch(repo, campaignId, [ref], deps.secret).then((m) => m.get(ref.customerId) ?? {}),
  ]);
  const judged = await judgeBeforeClaim(pre, ctx, deps, now);
  if (judged !== "ready") return judged;
  const current = pre.row!;
  const channel = current.channel!;
  // Paced first, so the time spent waiting for the provider's rate is never inside a claim.
  if (!paced) await deps.pace?.(channel);
  const claimedAt = deps.now();
  // The claim records the attempt: from here a crash leaves an `attemptedAt` row, which a sweep marks
  // unknown and reconciles from the provider's own record, never a blind resend.
  const token = randomUUID();
  const row = await ledger.claim(repo, current, token, claimedAt, deps.leaseMs);
  if (!row) return "skipped";
  const settle = (s: ledger.Settlement) => ledger.settleClaim(repo, row, token, s, deps.now());

  // The contact gate: opt-out and caps judged again, atomically with the slot (see contact/gate.ts).
  // A transactional row (a salon RSVP's confirmation) skips the caps only; the gate still judges its opt-out.
  const send = { customer: pre.customer!, campaignId, channel, transactional: row.transactional === true };
  const gate = await takeSendSlots(repo, deps.secret, send, ctx, claimedAt, {
    customer: pre.state,
    address: pre.address,
  });
  if (gate !== "ok") {
    await settle({ decision: "excluded", reason: gate });
    return "excluded";
  }
  const dueAt = outsideWindowAtCall(channel, deps);
  if (dueAt) {
    await releaseSendSlots(repo, deps.secret, send);
    await ledger.deferClaimed(repo, row, token, dueAt, deps.now());
    return "deferred";
  }
  const after = afterCall(row, await callProvider(row, campaignId, deps), receiveCount, deps);
  // Counted once the settlement applied: a settle that throws or finds another token (the row swept
  // to unknown meanwhile) leaves the counting to the reconciliation that settles it.
  const settled = after.settlement ? await settle(after.settlement) : false;
  if (after.requeue !== undefined) await ledger.requeueClaimed(repo, row, token, after.requeue, deps.now());
  if (settled && after.increments) {
    if (counters) addInto(counters, after.increments);
    else await addCounters(repo, campaignId, after.increments);
  }
  if (after.pointer) await writeMessagePointer(repo, after.pointer, campaignId, row.customerId, deps.now());
  if (after.error) throw after.error;
  return after.outcome;
}

/**
 * Quiet hours judged at the call itself (the pacer's wait and the writes took time), with a guard for
 * the request's own time on the wire: a call at 21:59:59.99 would land after 22:00. The next window's
 * start when a marketing call may not be made now.
 */
function outsideWindowAtCall(channel: Channel, deps: DispatchDeps): string | undefined {
  if (!MARKETING_CHANNELS.has(channel)) return undefined;
  const callAt = deps.now();
  const landsBy = new Date(callAt.getTime() + CALL_GUARD_MS);
  if (inWindow(callAt, deps.config.quietHours) && inWindow(landsBy, deps.config.quietHours)) return undefined;
  return nextWindowStart(callAt, deps.config.quietHours).toISOString();
}

type CallResult = { messageId: string } | { error: unknown } | { noMessage: true };

/** The provider call for a claimed row (which records the attempt): its message id, or what it threw. */
async function callProvider(row: LedgerRow, campaignId: string, deps: DispatchDeps): Promise<CallResult> {
  if (!row.message) return { noMessage: true };
  const provider = deps.providers[row.channel!];
  if (!provider) return { error: new Error(`no provider for channel ${row.channel}`) };
  try {
    return await provider.send(row.message, {
      sendKey: sendKey(row),
      campaignId,
      customerId: row.customerId,
    });
  } catch (error) {
    return { error };
  }
}

/** What a call's result does to the held claim: its settlement (or a requeue), its counters, its outcome. */
interface AfterCall {
  outcome: Outcome;
  settlement?: ledger.Settlement;
  /** Queued again for a retry, with the provider's error. */
  requeue?: string;
  increments?: Map<string, number>;
  /** The messageId to point at this send (two-way SMS replies on AWS). */
  pointer?: string;
  /** An error nobody classified: the claim stays (attempt recorded) for the sweep, the message retries. */
  error?: unknown;
}

const addInto = (counters: Map<string, number>, increments: Map<string, number>) => {
  for (const [sk, n] of increments) counters.set(sk, (counters.get(sk) ?? 0) + n);
};

function afterCall(row: LedgerRow, result: CallResult, receiveCount: number, deps: DispatchDeps): AfterCall {
  if ("noMessage" in result)
    return { outcome: "failed", settlement: { decision: "failed", reason: "no_message" } };
  if ("messageId" in result) {
    const sentAt = deps.now();
    // The funnel stage moves in the same write (we hold the claim, so nothing else moves this row now).
    const sentStage = stageIndex("sent");
    const after: AfterCall = {
      outcome: "sent",
      settlement: {
        decision: "sent",
        messageId: result.messageId,
        sentAt: sentAt.toISOString(),
        stage: Math.max(sentStage, row.stage),
      },
      ...(deps.messagePointers && row.channel === "sms" ? { pointer: result.messageId } : {}),
    };
    if (row.stage < sentStage)
      after.increments = stageIncrements(row, row.stage, sentStage, sentAt, deps.config.quietHours.timeZone);
    return after;
  }
  const err = result.error;
  if (err instanceof ProviderUnknownOutcomeError)
    return { outcome: "unknown", settlement: { decision: "unknown" } };
  if (err instanceof ProviderPermanentError)
    return {
      outcome: "failed",
      settlement: {
        decision: "failed",
        reason: `provider_rejected: ${err.message}`.slice(0, 200),
      },
    };
  if (err instanceof ProviderThrottledError && deps.enqueueLater) {
    deps.pace?.throttled?.(row.channel!);
    if ((row.attempts ?? 1) >= MAX_THROTTLED_ATTEMPTS)
      return {
        outcome: "failed",
        settlement: { decision: "failed", reason: "provider_throttled", retryable: true },
      };
    return { outcome: "throttled", requeue: err.message };
  }
  if (err instanceof ProviderRetryableError) {
    if (receiveCount >= deps.maxReceiveCount)
      return {
        outcome: "retry",
        settlement: { decision: "failed", reason: "provider_unavailable", retryable: true },
      };
    // The provider answered with an error: the message did not go out, so it is safe to try again.
    return { outcome: "retry", requeue: err.message };
  }
  return { outcome: "unknown", error: err };
}

/** A recipient ready to be claimed in a message's transaction. */
interface Ready {
  index: number;
  ref: RecipientRef;
  pre: Prefetched;
}

/**
 * A message's recipients sent together: each judged before a claim from the message's one read;
 * the pacer's tokens for all of them taken first; then one transaction claims every recipient and
 * takes every contact slot, each conditional on the row's state and on the contact item's version
 * as read (so an opt-out stored since the read cancels it); then the calls are made at once, and one
 * transaction settles them. An opt-out can therefore stop any send whose call has not started, as for
 * a single send. A cancelled transaction (a changed row or contact item, a shared address twice in
 * one message) falls back to single sends, which re-read; nothing of it was applied.
 */
async function sendMessage(
  message: DispatchMessage,
  receiveCount: number,
  deps: DispatchDeps,
  campaign: DecideContext & { status: CampaignStatus },
  known: Map<string, Prefetched>,
  counters: Map<string, number>,
): Promise<Outcome[]> {
  const { repo } = deps;
  const { campaignId } = message;
  const now = deps.now();
  const ctx = { ...campaign, now };
  const outcomes: Outcome[] = new Array(message.recipients.length);
  const ready: Ready[] = [];
  for (const [index, ref] of message.recipients.entries()) {
    const pre = known.get(ref.customerId) ?? {};
    const judged = await judgeBeforeClaim(pre, ctx, deps, now);
    if (judged === "ready") ready.push({ index, ref, pre });
    else outcomes[index] = judged;
  }
  if (ready.length === 0) return outcomes;
  const single = async (r: Ready, paced = true) => {
    outcomes[r.index] = await sendOne(
      r.ref,
      campaignId,
      receiveCount,
      deps,
      campaign,
      r.pre,
      counters,
      paced,
    );
  };
  // Where a transaction costs twice its items (DynamoDB), one by one: pace, claim, slot, call, settle.
  if (!repo.batchedWrites) {
    for (const r of ready) await single(r, false);
    return outcomes;
  }
  // Paced first, for all of them: the wait is never inside a claim.
  for (const r of ready) await deps.pace?.(r.pre.row!.channel!);
  const claimedAt = deps.now();
  const batch: {
    r: Ready;
    token: string;
    claimed: LedgerRow;
    send: { customer: Customer; campaignId: string; channel: Channel; transactional: boolean };
    updates: UpdateParams[];
  }[] = [];
  const alone: Ready[] = [];
  const items = new Set<string>();
  for (const r of ready) {
    const row = r.pre.row!;
    const token = randomUUID();
    const { update, claimed } = ledger.claimWrite(row, token, claimedAt, deps.leaseMs);
    const send = {
      customer: r.pre.customer!,
      campaignId,
      channel: row.channel!,
      transactional: row.transactional === true,
    };
    const gate = sendSlotWrites(deps.secret, send, ctx, claimedAt, {
      customer: r.pre.state,
      address: r.pre.address,
    });
    if (gate.outcome !== "ok") {
      outcomes[r.index] = (await ledger.excludeUnclaimed(repo, row, gate.outcome, claimedAt))
        ? "excluded"
        : "skipped";
      continue;
    }
    const updates = [update, ...gate.updates];
    const keys = updates.map((u) => `${u.Key.PK}\u0000${u.Key.SK}`);
    // One item twice in a transaction is refused: a second recipient on a shared address goes alone.
    if (keys.some((k) => items.has(k)) || items.size + keys.length > MAX_TRANSACTION_ITEMS) {
      alone.push(r);
      continue;
    }
    for (const k of keys) items.add(k);
    batch.push({ r, token, claimed, send, updates });
  }
  if (
    !(await updateTogether(
      repo,
      batch.flatMap((b) => b.updates),
    ))
  ) {
    for (const b of batch) await single(b.r);
    for (const r of alone) await single(r);
    return outcomes;
  }
  // Claimed and gated, every one: quiet hours judged once, at the call (the message is one channel),
  // and then the calls at once, or (outside the window) none, each deferred with its slots given back.
  const dueAt = outsideWindowAtCall(message.channel, deps);
  const calls = dueAt ? [] : batch;
  const results = await Promise.all(calls.map((b) => callProvider(b.claimed, campaignId, deps)));
  if (dueAt)
    for (const b of batch) {
      await releaseSendSlots(repo, deps.secret, b.send);
      await ledger.deferClaimed(repo, b.claimed, b.token, dueAt, deps.now());
      outcomes[b.r.index] = "deferred";
    }
  const afters = calls.map((b, i) => afterCall(b.claimed, results[i]!, receiveCount, deps));
  const settledAt = deps.now();
  const settling = afters.flatMap((after, i) => (after.settlement ? [i] : []));
  const settleOf = (i: number) =>
    ledger.settleWrite(calls[i]!.claimed, calls[i]!.token, afters[i]!.settlement!, settledAt);
  // A claim lost since (its lease ran out and a sweep took it) cancels the transaction: one by one, the
  // others settle and that one's write finds another token and changes nothing. Counted once settled:
  // in the settling transaction itself when they fit, so a send and its counts land together or not
  // at all (no crash or throttled counter write between them can lose the counts).
  const settled = new Set<number>();
  const countedTogether = new Set<number>();
  const owed = new Map<string, number>();
  for (const i of settling) addInto(owed, afters[i]!.increments ?? new Map());
  const counted = counterWrites(campaignId, owed);
  const withCounts = settling.length + counted.length <= MAX_TRANSACTION_ITEMS;
  if (await updateTogether(repo, [...settling.map(settleOf), ...(withCounts ? counted : [])]))
    for (const i of settling) {
      settled.add(i);
      if (withCounts) countedTogether.add(i);
    }
  else
    for (const i of settling)
      if (
        await ledger.settleClaim(repo, calls[i]!.claimed, calls[i]!.token, afters[i]!.settlement!, settledAt)
      )
        settled.add(i);
  let error: unknown;
  for (const [i, b] of calls.entries()) {
    const after = afters[i]!;
    if (after.requeue !== undefined)
      await ledger.requeueClaimed(repo, b.claimed, b.token, after.requeue, deps.now());
    if (settled.has(i) && !countedTogether.has(i) && after.increments) addInto(counters, after.increments);
    if (after.pointer)
      await writeMessagePointer(repo, after.pointer, campaignId, b.claimed.customerId, settledAt);
    error ??= after.error;
    outcomes[b.r.index] = after.outcome;
  }
  for (const r of alone) await single(r);
  if (error) throw error;
  return outcomes;
}

/**
 * One SQS message: every recipient in it, from one read of the campaign and one BatchGet of their
 * rows, customers and states, claimed and settled together (sendMessage); their funnel counters are
 * added once at the end. Any retryable failure returns the message to the queue.
 */
export async function processDispatch(
  message: DispatchMessage,
  receiveCount: number,
  deps: DispatchDeps,
): Promise<Outcome[]> {
  // A pause or cancel takes effect from the next message (≤ 10 recipients).
  const [campaign, known] = await Promise.all([
    contextFor(deps, message.campaignId, deps.now()),
    prefetch(deps.repo, message.campaignId, message.recipients, deps.secret),
  ]);
  const counters = new Map<string, number>();
  let outcomes: Outcome[];
  try {
    outcomes = await sendMessage(message, receiveCount, deps, campaign, known, counters);
  } finally {
    if (counters.size) await addCounters(deps.repo, message.campaignId, counters);
  }
  // Throttled recipients go back as a new, delayed message: the rest of this one is done.
  const throttled = message.recipients.filter((_, i) => outcomes[i] === "throttled");
  if (throttled.length && deps.enqueueLater) {
    const attempts = Math.max(...throttled.map((r) => (known.get(r.customerId)?.row?.attempts ?? 0) + 1));
    await deps.enqueueLater(
      message.channel,
      toMessages(message.campaignId, message.channel, throttled),
      throttleDelaySeconds(attempts, deps.throttleDelaySeconds),
    );
  }
  if (outcomes.includes("retry")) {
    const err = new ProviderRetryableError(
      `${outcomes.filter((o) => o === "retry").length} recipients to retry`,
    );
    throw err;
  }
  return outcomes;
}

export type Pacer = ((channel: Channel) => Promise<void>) & {
  /** The provider throttled a send: go at half the rate for a while. */
  throttled?: (channel: Channel) => void;
};

/** After a throttle, the pace stays halved this long (then back to the full share). */
export const THROTTLE_SLOWDOWN_MS = 30_000;

/**
 * Token bucket per channel at `rates` (this container's share of the provider account's rate: the
 * account's rate divided by the worker's maximum concurrency), halved for a while after a throttle.
 */
export function pacer(rates: Partial<Record<Channel, number>>): Pacer {
  const next = new Map<Channel, number>();
  const slowUntil = new Map<Channel, number>();
  const pace: Pacer = async (channel: Channel) => {
    const full = rates[channel];
    if (!full) return;
    const now = performance.now();
    const rate = (slowUntil.get(channel) ?? 0) > now ? full / 2 : full;
    const slot = Math.max(now, next.get(channel) ?? now);
    next.set(channel, slot + 1000 / rate);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  };
  pace.throttled = (channel) => slowUntil.set(channel, performance.now() + THROTTLE_SLOWDOWN_MS);
  return pace;
}
