import type { Decision, RenderedMessage } from "#functions/campaign/decide.ts";
import type { Channel } from "#functions/campaign/schema.ts";
import { csvRow } from "#platform/csv.ts";
import { key } from "#platform/table.ts";

/** Where a recipient stands. Terminal: sent, failed, unknown, excluded, holdout. */
export type LedgerState =
  | "queued"
  | "claimed"
  | "deferred"
  | "sent"
  | "failed"
  | "unknown"
  | "excluded"
  | "holdout";
export const TERMINAL: ReadonlySet<LedgerState> = new Set([
  "sent",
  "failed",
  "unknown",
  "excluded",
  "holdout",
]);

export const STAGES = [
  "targeted",
  "eligible",
  "sent",
  "delivered",
  "engaged",
  "responded",
  "converted",
] as const;
export type Stage = (typeof STAGES)[number];
export const stageIndex = (s: Stage) => STAGES.indexOf(s);

/** One row per audience member per campaign: the decision, its reason, and the send's progress. */
export interface LedgerRow {
  PK: string;
  SK: string;
  campaignId: string;
  customerId: string;
  shard: number;
  tier: string;
  decision: LedgerState;
  reason?: string;
  channel?: Channel;
  variant?: string;
  decidedAt: string;
  at: string;
  dueAt?: string;
  message?: RenderedMessage;
  messageId?: string;
  claimToken?: string;
  leaseUntil?: string;
  attemptedAt?: string;
  attempts?: number;
  enqueuedAt?: string;
  sentAt?: string;
  /** Furthest funnel stage reached (index into STAGES); only moves forward. */
  stage: number;
  holdout?: boolean;
  rmId?: string;
  branchId?: string;
  referralCode?: string;
  /** Growth playbooks and goals: the AUM at the decision, and the AUM an import must show to convert. */
  aum?: number;
  goalAum?: number;
  retryable?: boolean;
  /**
   * A transactional send (the answer to the customer's own message, e.g. a salon RSVP's confirmation):
   * the marketing frequency caps neither hold it back nor count it; opt-outs, the number's validity and
   * quiet hours still do. Only the system writes such rows (transactionalRow), never a campaign file.
   */
  transactional?: boolean;
  GSI3PK?: string;
  GSI3SK?: string;
}

export const sendKey = (row: Pick<LedgerRow, "campaignId" | "customerId" | "channel">) =>
  `${row.campaignId}#${row.customerId}#${row.channel ?? "none"}`;

export const inflightIndex = (campaignId: string, shard: number, customerId: string) => ({
  GSI3PK: key.inflightPartition(campaignId, shard),
  GSI3SK: customerId,
});

/** Where a paused campaign's sends wait: out of the due index, so nothing looks at them until a resume. */
export const pausedIndex = (campaignId: string, shard: number, customerId: string) => ({
  GSI3PK: pausedPartition(campaignId, shard),
  GSI3SK: customerId,
});
export const pausedPartition = (campaignId: string, shard: number) => `PAUSED#${campaignId}#${shard}`;

export const dueIndex = (shard: number, dueAt: string, campaignId: string, customerId: string) => ({
  GSI3PK: key.duePartition(shard),
  GSI3SK: `${dueAt}#${campaignId}#${customerId}`,
});

/** What a ledger export shows (CONTRACT.md): no message bodies, no contact details. */
export function exportRow(row: LedgerRow) {
  return {
    customerId: row.customerId,
    tier: row.tier,
    decision: row.decision,
    reason: row.reason ?? "",
    channel: row.channel ?? "",
    variant: row.variant ?? "",
    messageId: row.messageId ?? "",
    at: row.at,
    dueAt: row.dueAt ?? "",
    stage: STAGES[row.stage] ?? "targeted",
  };
}

export const LEDGER_COLUMNS = [
  "customerId",
  "tier",
  "decision",
  "reason",
  "channel",
  "variant",
  "messageId",
  "at",
  "dueAt",
  "stage",
] as const;

/** One ledger row as a CSV line (the columns of LEDGER_COLUMNS). */
export function csvLine(row: LedgerRow): string {
  const r = exportRow(row) as Record<string, unknown>;
  return csvRow(LEDGER_COLUMNS.map((c) => r[c]));
}

/** The row a decision becomes: its state, stage, and the work index it waits in (in flight or due). */
export function rowFromDecision(d: Decision, campaignId: string, decidedAt: string): LedgerRow {
  const state: LedgerState = d.decision === "eligible" ? "queued" : d.decision;
  const row: LedgerRow = {
    ...key.ledger(campaignId, d.shard, d.customerId),
    campaignId,
    customerId: d.customerId,
    shard: d.shard,
    tier: d.tier,
    decision: state,
    decidedAt,
    at: decidedAt,
    stage: d.decision === "excluded" ? stageIndex("targeted") : stageIndex("eligible"),
    attempts: 0,
  };
  const optional: Partial<LedgerRow> = {
    reason: d.reason,
    channel: d.channel,
    variant: d.variant,
    dueAt: d.dueAt,
    message: d.message,
    rmId: d.rmId,
    branchId: d.branchId,
    referralCode: d.referralCode,
    aum: d.aum,
    goalAum: d.goalAum,
    holdout: d.decision === "holdout" ? true : undefined,
    enqueuedAt: state === "queued" ? decidedAt : undefined,
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) (row as unknown as Record<string, unknown>)[k] = v;
  if (state === "queued") Object.assign(row, inflightIndex(campaignId, d.shard, d.customerId));
  if (state === "deferred") Object.assign(row, dueIndex(d.shard, d.dueAt!, campaignId, d.customerId));
  return row;
}

/** A transactional row (see LedgerRow.transactional), written by the system for one customer. */
export function transactionalRow(d: Decision, campaignId: string, decidedAt: string): LedgerRow {
  return { ...rowFromDecision(d, campaignId, decidedAt), transactional: true };
}
