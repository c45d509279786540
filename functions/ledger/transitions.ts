import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { dueIndex, inflightIndex, type LedgerRow, pausedIndex } from "#functions/ledger/rows.ts";
import {
  batchWrite,
  conditional,
  isConditionFailed,
  type Repo,
  type UpdateParams,
  updateAlone,
} from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/**
 * The ledger row's owner: the only module that writes ledger rows. Who may change a row, and when:
 *
 *   (launch)   decided → queued | deferred | excluded | holdout            putRows
 *   (dispatch) queued | lease-expired claim without attempt | retryable failed
 *                → excluded | deferred                                    excludeUnclaimed, deferUnclaimed
 *                → claimed(token, lease, attemptedAt)                     claim
 *   (holder)   claimed(token) → sent(messageId) | failed | unknown        settleClaim
 *                             → excluded (gate refused)                    settleClaim
 *                             → deferred (quiet hours at the call)         deferClaimed
 *                             → queued (the provider said "not sent")      requeueClaimed
 *   (sweep)    claimed, lease over, attempt recorded → unknown             markUnknown
 *   (reconcile) unknown → sent (provider has it) | queued (provably not) | failed (policy)
 *                                                                          reconcile*
 *   (receipt)  unknown → sent                                              reconcileFromReceipt
 *   (release)  deferred, due → queued                                      releaseDeferred
 *   (events)   stage only moves forward                                    advanceStage
 *   (forget)   message body removed                                        scrubMessage
 *
 * Every transition is one conditional UpdateItem on the row, conditioned on the state it leaves (and
 * on the claim token where a claim is held), so duplicates, races and late writers change nothing.
 * The claim and the settlement also come as updates (claimWrite, settleWrite), so a worker can apply a
 * whole message's in one transaction, with the same conditions.
 */

/** GSI3 partition holding a campaign's unknown outcomes (apart from the in-flight set). */
export const unknownPartition = (campaignId: string, shard: number) => `UNKNOWN#${campaignId}#${shard}`;

type Key = Pick<LedgerRow, "PK" | "SK">;

function names(expression: string): Record<string, string> | undefined {
  return expression.includes("#at") ? { "#at": "at" } : undefined;
}

/** A transition as an update of the row (without the table): alone (move) or in a transaction. */
function transition(
  row: Key,
  update: string,
  condition: string,
  values: Record<string, unknown>,
  attrNames?: Record<string, string>,
): UpdateParams {
  const allNames = { ...names(`${update} ${condition}`), ...attrNames };
  return {
    Key: { PK: row.PK, SK: row.SK },
    UpdateExpression: update,
    ConditionExpression: condition,
    ...(Object.keys(allNames).length ? { ExpressionAttributeNames: allNames } : {}),
    ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
  };
}

function move(
  repo: Repo,
  row: Key,
  update: string,
  condition: string,
  values: Record<string, unknown>,
  attrNames?: Record<string, string>,
) {
  return updateAlone(repo, transition(row, update, condition, values, attrNames));
}

/** Launch: one row per audience member, written in batches (a retried page finds its rows and skips them). */
export function putRows(repo: Repo, rows: LedgerRow[]) {
  return batchWrite(
    repo.ddb,
    repo.table,
    rows.map((Item) => ({ PutRequest: { Item: Item as unknown as Record<string, unknown> } })),
    4,
  );
}

/** A single row written once (a salon reminder): false when it already exists. */
export function putRowOnce(repo: Repo, row: LedgerRow) {
  return conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: row as unknown as Record<string, unknown>,
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    ),
  );
}

// ---- dispatch, before a claim -------------------------------------------------------------------

/** A row is ours to act on when it is queued, a claim that died before its attempt, or a retryable failure. */
const CLAIMABLE =
  "attribute_exists(channel) AND (decision = :queued OR (decision = :claimed AND leaseUntil < :now AND attribute_not_exists(attemptedAt)) OR (decision = :failed AND retryable = :true))";
const claimableValues = (now: Date) => ({
  ":queued": "queued",
  ":claimed": "claimed",
  ":failed": "failed",
  ":true": true,
  ":now": now.toISOString(),
});

/** The same test as CLAIMABLE, on a row read (to skip settled rows without a write). */
export function claimable(row: LedgerRow, now: Date): boolean {
  if (!row.channel) return false;
  if (row.decision === "queued") return true;
  if (row.decision === "claimed")
    return !row.attemptedAt && !!row.leaseUntil && row.leaseUntil < now.toISOString();
  return row.decision === "failed" && row.retryable === true;
}

export function excludeUnclaimed(repo: Repo, row: Key, reason: string, now: Date) {
  return move(
    repo,
    row,
    "SET decision = :d, reason = :r, #at = :now REMOVE GSI3PK, GSI3SK, claimToken, leaseUntil, retryable",
    CLAIMABLE,
    { ":d": "excluded", ":r": reason, ...claimableValues(now) },
  );
}

export function deferUnclaimed(repo: Repo, row: LedgerRow, dueAt: string, now: Date) {
  return deferTo(repo, row, dueAt, dueIndex(row.shard, dueAt, row.campaignId, row.customerId), now);
}

/**
 * A send of a paused campaign waits in the campaign's paused partition (deferred, but in no due index):
 * it costs nothing while paused; a resume (or a cancel) wakes the partition (release/core.ts).
 */
export function parkUnclaimed(repo: Repo, row: LedgerRow, now: Date) {
  const at = now.toISOString();
  return deferTo(repo, row, at, pausedIndex(row.campaignId, row.shard, row.customerId), now);
}

function deferTo(
  repo: Repo,
  row: LedgerRow,
  dueAt: string,
  index: { GSI3PK: string; GSI3SK: string },
  now: Date,
) {
  return move(
    repo,
    row,
    "SET decision = :d, dueAt = :due, GSI3PK = :pk, GSI3SK = :sk, #at = :now REMOVE claimToken, leaseUntil, retryable",
    CLAIMABLE,
    { ":d": "deferred", ":due": dueAt, ":pk": index.GSI3PK, ":sk": index.GSI3SK, ...claimableValues(now) },
  );
}

/**
 * Takes the row for one send: records the attempt before any provider call, so a crash from here on
 * leaves an `attemptedAt` row that is reconciled, never resent blindly. Returns the row as claimed,
 * or undefined when someone else holds or settled it.
 */
export async function claim(
  repo: Repo,
  row: LedgerRow,
  token: string,
  now: Date,
  leaseMs: number,
): Promise<LedgerRow | undefined> {
  try {
    const out = await repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        ...claimUpdate(row, token, now, leaseMs, CLAIMABLE, {}),
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes as LedgerRow;
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw err;
  }
}

/** The claim's update: the attempt recorded, the lease taken, into the in-flight index. */
function claimUpdate(
  row: LedgerRow,
  token: string,
  now: Date,
  leaseMs: number,
  condition: string,
  values: Record<string, unknown>,
): UpdateParams {
  const inflight = inflightIndex(row.campaignId, row.shard, row.customerId);
  return transition(
    row,
    "SET decision = :claimed, claimToken = :t, leaseUntil = :lease, #at = :now, attemptedAt = :now, GSI3PK = :pk, GSI3SK = :sk ADD attempts :one REMOVE retryable",
    condition,
    {
      ...claimableValues(now),
      ":t": token,
      ":lease": new Date(now.getTime() + leaseMs).toISOString(),
      ":one": 1,
      ":pk": inflight.GSI3PK,
      ":sk": row.customerId,
      ...values,
    },
  );
}

/**
 * The claim as an update, for a transaction that claims a message's recipients together (with their
 * contact slots), and the row as the claim leaves it. That row is built from the one read, not read
 * back, so the claim also requires the row to be exactly as read: its last transition (`at`), its
 * stage, and not forgotten since (a forget removes the message it would send). Anything else makes
 * the transaction cancel, and the single path claims and reads back the stored row.
 */
export function claimWrite(
  row: LedgerRow,
  token: string,
  now: Date,
  leaseMs: number,
): { update: UpdateParams; claimed: LedgerRow } {
  const at = now.toISOString();
  const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
  const inflight = inflightIndex(row.campaignId, row.shard, row.customerId);
  const asRead = [
    row.at === undefined ? "attribute_not_exists(#at)" : "#at = :readAt",
    "stage = :readStage",
    "attribute_not_exists(forgottenAt)",
  ].join(" AND ");
  const update = claimUpdate(row, token, now, leaseMs, `(${CLAIMABLE}) AND ${asRead}`, {
    ":readStage": row.stage,
    ...(row.at === undefined ? {} : { ":readAt": row.at }),
  });
  const { retryable: _retryable, ...rest } = row;
  const claimed: LedgerRow = {
    ...rest,
    decision: "claimed",
    claimToken: token,
    leaseUntil,
    at,
    attemptedAt: at,
    GSI3PK: inflight.GSI3PK,
    GSI3SK: row.customerId,
    attempts: (row.attempts ?? 0) + 1,
  };
  return { update, claimed };
}

// ---- the claim holder ---------------------------------------------------------------------------

export type Settlement =
  | { decision: "sent"; messageId: string; sentAt: string; stage: number }
  | { decision: "failed"; reason: string; retryable?: boolean }
  | { decision: "unknown" }
  | { decision: "excluded"; reason: string };

/** Settles a held claim: final fields, out of the in-flight index (unknown waits in its own partition). */
export function settleClaim(repo: Repo, row: LedgerRow, token: string, s: Settlement, now: Date) {
  return updateAlone(repo, settleWrite(row, token, s, now));
}

/** The settlement as an update, for a transaction that settles a message's recipients together. */
export function settleWrite(row: LedgerRow, token: string, s: Settlement, now: Date): UpdateParams {
  const base = { ":t": token, ":now": now.toISOString(), ":d": s.decision };
  const release = ["claimToken", "leaseUntil"];
  if (s.decision === "sent")
    return transition(
      row,
      `SET decision = :d, messageId = :m, sentAt = :s, stage = :stage, #at = :now REMOVE ${["GSI3PK", "GSI3SK", ...release, "reason"].join(", ")}`,
      "claimToken = :t",
      { ...base, ":m": s.messageId, ":s": s.sentAt, ":stage": s.stage },
    );
  if (s.decision === "unknown")
    return transition(
      row,
      `SET decision = :d, reason = :r, GSI3PK = :pk, #at = :now REMOVE ${release.join(", ")}`,
      "claimToken = :t",
      { ...base, ":r": "outcome_unknown", ":pk": unknownPartition(row.campaignId, row.shard) },
    );
  const removes = ["GSI3PK", "GSI3SK", ...release, ...(s.decision === "excluded" ? ["attemptedAt"] : [])];
  const retryable = s.decision === "failed" && s.retryable;
  return transition(
    row,
    `SET decision = :d, reason = :r${retryable ? ", retryable = :true" : ""}, #at = :now REMOVE ${removes.join(", ")}`,
    "claimToken = :t",
    { ...base, ":r": s.reason, ...(retryable ? { ":true": true } : {}) },
  );
}

/** Quiet hours reached at the call: the held claim goes back to deferred, its attempt never made. */
export function deferClaimed(repo: Repo, row: LedgerRow, token: string, dueAt: string, now: Date) {
  const due = dueIndex(row.shard, dueAt, row.campaignId, row.customerId);
  return move(
    repo,
    row,
    "SET decision = :d, dueAt = :due, GSI3PK = :pk, GSI3SK = :sk, #at = :now REMOVE claimToken, leaseUntil, attemptedAt",
    "claimToken = :t",
    {
      ":d": "deferred",
      ":due": dueAt,
      ":pk": due.GSI3PK,
      ":sk": due.GSI3SK,
      ":now": now.toISOString(),
      ":t": token,
    },
  );
}

/** The provider answered with an error, so the message did not go out: queued again for a retry. */
export function requeueClaimed(repo: Repo, row: LedgerRow, token: string, error: string, now: Date) {
  return move(
    repo,
    row,
    "SET decision = :q, #at = :now, lastError = :e REMOVE attemptedAt, claimToken, leaseUntil",
    "claimToken = :t",
    { ":q": "queued", ":now": now.toISOString(), ":e": error.slice(0, 200), ":t": token },
  );
}

// ---- sweep and reconciliation -------------------------------------------------------------------

/** A claim whose attempt started and whose answer was lost: unknown, waiting apart until reconciled. */
export function markUnknown(repo: Repo, row: LedgerRow, now: Date) {
  return move(
    repo,
    row,
    "SET decision = :u, reason = :r, #at = :now, GSI3PK = :pk",
    "decision = :c AND claimToken = :t",
    {
      ":u": "unknown",
      ":r": "outcome_unknown",
      ":now": now.toISOString(),
      ":c": "claimed",
      ":t": row.claimToken ?? "-",
      ":pk": unknownPartition(row.campaignId, row.shard),
    },
  );
}

const STILL_UNKNOWN = "decision = :u AND (claimToken = :t OR attribute_not_exists(claimToken))";
const unknownValues = (row: LedgerRow, now: Date) => ({
  ":u": "unknown",
  ":t": row.claimToken ?? "-",
  ":now": now.toISOString(),
});

/** The provider has it: sent, with its id. */
export function reconcileSent(repo: Repo, row: LedgerRow, messageId: string, stage: number, now: Date) {
  return move(
    repo,
    row,
    "SET decision = :d, messageId = :m, sentAt = if_not_exists(sentAt, :now), stage = :stage, #at = :now REMOVE GSI3PK, GSI3SK, claimToken, leaseUntil, reason",
    STILL_UNKNOWN,
    { ...unknownValues(row, now), ":d": "sent", ":m": messageId, ":stage": stage },
  );
}

/** The provider provably never received it: queued again, in flight. */
export function reconcileRequeue(repo: Repo, row: LedgerRow, now: Date) {
  const inflight = inflightIndex(row.campaignId, row.shard, row.customerId);
  return move(
    repo,
    row,
    "SET decision = :q, GSI3PK = :pk, GSI3SK = :sk, #at = :now REMOVE attemptedAt, claimToken, leaseUntil, reason",
    STILL_UNKNOWN,
    { ...unknownValues(row, now), ":q": "queued", ":pk": inflight.GSI3PK, ":sk": inflight.GSI3SK },
  );
}

/** Nobody can say within the policy window: failed (at most once). */
export function reconcileFailed(repo: Repo, row: LedgerRow, now: Date) {
  return move(
    repo,
    row,
    "SET decision = :f, reason = :r, #at = :now REMOVE GSI3PK, GSI3SK, claimToken, leaseUntil",
    STILL_UNKNOWN,
    { ...unknownValues(row, now), ":f": "failed", ":r": "outcome_unconfirmed" },
  );
}

/** A delivery receipt proves an unknown-outcome send went out. */
export function reconcileFromReceipt(repo: Repo, row: LedgerRow, messageId: string | undefined) {
  return move(
    repo,
    row,
    "SET decision = :sent, reason = :r, messageId = if_not_exists(messageId, :m) REMOVE GSI3PK, GSI3SK",
    "decision = :unknown",
    { ":sent": "sent", ":unknown": "unknown", ":r": "reconciled_from_receipt", ":m": messageId ?? "receipt" },
  );
}

// ---- release, events, forget --------------------------------------------------------------------

/** A deferred row that is due goes back to queued (two ticks racing release it once). */
export function releaseDeferred(repo: Repo, row: LedgerRow, now: string) {
  const inflight = inflightIndex(row.campaignId, row.shard, row.customerId);
  return move(
    repo,
    row,
    "SET decision = :q, GSI3PK = :pk, GSI3SK = :sk, enqueuedAt = :now, #at = :now",
    "decision = :d",
    { ":q": "queued", ":d": "deferred", ":pk": inflight.GSI3PK, ":sk": inflight.GSI3SK, ":now": now },
  );
}

export function recordDeliveryFailure(repo: Repo, row: Key, at: string) {
  return move(repo, row, "SET deliveryFailedAt = :at", "attribute_exists(PK)", { ":at": at });
}

/**
 * Moves a row's funnel stage forward to `target` (never back). Returns the stage it had, or undefined
 * when it was already there or beyond (the conditional update is the idempotency of events).
 */
export async function advanceRowStage(
  repo: Repo,
  row: Key & { stage?: number },
  target: number,
  extra: Record<string, unknown> = {},
  /**
   * The operation (an event id) moving the row. With it, the move also leaves a marker of the counts it
   * owes (`from → to`), removed once they are added: a retry of an operation cut short after the move
   * finds its marker and adds them (see pendingCount), so a throttled counter write is never lost.
   */
  op?: { id: string; at: string },
): Promise<number | undefined> {
  const attrNames: Record<string, string> = {};
  const values: Record<string, unknown> = { ":s": target };
  const sets = ["stage = :s"];
  for (const [k, v] of Object.entries(extra)) {
    attrNames[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  if (!op) {
    try {
      const out = await repo.ddb.send(
        new UpdateCommand({
          TableName: repo.table,
          Key: { PK: row.PK, SK: row.SK },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: "attribute_exists(PK) AND stage < :s",
          ExpressionAttributeNames: Object.keys(attrNames).length ? attrNames : undefined,
          ExpressionAttributeValues: values,
          ReturnValues: "UPDATED_OLD",
        }),
      );
      return Number(out.Attributes?.stage ?? -1);
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw err;
    }
  }
  // Conditional on the stage read, so the marker names the exact move; a concurrent move re-reads.
  attrNames["#pc"] = pendingAttr(op.id);
  sets.push("#pc = :pc");
  let from = row.stage;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (from === undefined) from = (await readRowByKey(repo, row))?.stage;
    if (from === undefined || from >= target) return undefined;
    try {
      await repo.ddb.send(
        new UpdateCommand({
          TableName: repo.table,
          Key: { PK: row.PK, SK: row.SK },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: "stage = :from",
          ExpressionAttributeNames: attrNames,
          ExpressionAttributeValues: { ...values, ":from": from, ":pc": { from, to: target, at: op.at } },
        }),
      );
      return from;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      from = undefined;
    }
  }
  throw Object.assign(new Error(`row ${row.PK}/${row.SK} kept moving while advancing it`), {
    name: "ConditionContentionError",
  });
}

const pendingAttr = (opId: string) => `pc#${opId}`;

/**
 * The counts an operation's move owes and has not yet added (a move cut short), if any. `owed`, when
 * set, names the only counter keys still owed: the others of the move were added before it was cut.
 */
export async function pendingCount(
  repo: Repo,
  row: Key,
  opId: string,
): Promise<{ row: LedgerRow; from: number; to: number; at: string; owed?: string[] } | undefined> {
  const current = await readRowByKey(repo, row);
  const pending = (current as unknown as Record<string, unknown> | undefined)?.[pendingAttr(opId)] as
    | { from: number; to: number; at: string; owed?: string[] }
    | undefined;
  return current && pending ? { row: current, ...pending } : undefined;
}

/**
 * Part of an operation's counts are added, part failed (one partition throttled): the marker keeps
 * only the keys still owed, so a retry adds those and never again the ones already in.
 */
export function narrowPendingCount(repo: Repo, row: Key, opId: string, owed: string[]) {
  return move(
    repo,
    row,
    "SET #pc.owed = :owed",
    "attribute_exists(#pc)",
    { ":owed": owed },
    {
      "#pc": pendingAttr(opId),
    },
  );
}

/** The operation's counts are added: its marker goes. */
export function clearPendingCount(repo: Repo, row: Key, opId: string) {
  return move(repo, row, "REMOVE #pc", "attribute_exists(#pc)", {}, { "#pc": pendingAttr(opId) });
}

function readRowByKey(repo: Repo, row: Key) {
  return repo.get<LedgerRow>({ PK: row.PK, SK: row.SK });
}

/** Right to be forgotten: the rendered message (name, phone, email) leaves the row; the decision stays. */
export function scrubMessage(repo: Repo, campaignId: string, shard: number, customerId: string, now: Date) {
  return move(
    repo,
    key.ledger(campaignId, shard, customerId),
    "REMOVE message SET forgottenAt = :now",
    "attribute_exists(PK)",
    {
      ":now": now.toISOString(),
    },
  );
}
