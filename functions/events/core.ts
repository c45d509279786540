import { z } from "zod";
import { type CampaignRecord, loadCampaign } from "#functions/campaign/record.ts";
import type { Campaign } from "#functions/campaign/schema.ts";
import { readContact, recordOptOut } from "#functions/contact/gate.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { advanceStage, TIME_ZONE } from "#functions/funnel/counters.ts";
import { countUnique, isUniqueEvent } from "#functions/funnel/unique.ts";
import { readRow } from "#functions/ledger/reads.ts";
import type { LedgerRow, Stage } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import { recordReward } from "#functions/referrals/rewards.ts";
import { formatIssues, type TiercastConfig } from "#platform/config.ts";
import { IsoInstant } from "#platform/dates.ts";
import { shardOf } from "#platform/hash.ts";
import { mapLimit, type Repo } from "#platform/repo.ts";
import { OptionalMoney } from "#platform/storable.ts";
import { key } from "#platform/table.ts";
import {
  cancelRsvp,
  confirmationCampaignId,
  confirmationKind,
  rsvp,
  scheduleConfirmation,
  scheduleReminder,
} from "./salon.ts";
import { claimEventId, markEventApplied, putOnce } from "./store.ts";

export const EVENT_TYPES = [
  "delivered",
  "failed",
  "opened",
  "clicked",
  "replied",
  "rsvp",
  "attended",
  "opted_out",
  "transaction",
  "account_opened",
  "deposit",
  "rsvp_cancelled",
] as const;

export const Event = z.object({
  eventId: z.string().min(1).max(200),
  type: z.enum(EVENT_TYPES),
  customerId: z.string().min(1).max(128),
  campaignId: z.string().min(1).max(64).optional(),
  channel: z.enum(["sms", "email", "rm-task"]).optional(),
  at: IsoInstant,
  // In range and exact to the fen: 1e308 is this event's rejection, not the whole ingest's failure.
  amount: OptionalMoney,
  referralCode: z.string().max(32).optional(),
  messageId: z.string().max(300).optional(),
  /** Reply text (SMS): a refusal like "R" or "退订" is an opt-out. */
  text: z.string().max(1000).optional(),
});
export type Event = z.infer<typeof Event>;

export type IngestOutcome =
  | { status: "accepted"; attributedTo?: string; stage?: Stage }
  | { status: "duplicate" }
  | { status: "rejected"; error: string };

export interface EventDeps {
  repo: Repo;
  shards: number;
  /** Needed to render salon reminders; without them no reminder is scheduled. */
  config?: TiercastConfig;
  secret?: string;
  /**
   * The processing clock: a salon confirmation is due when the reply is processed, not at the reply's
   * own stamp (a provider's clock ahead of ours must not hold it back). Without it, the event's time.
   */
  now?: () => Date;
}

/** Event deps from a runtime's or use case's own: its store, config, secret and clock. */
export function eventDepsOf(d: {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: () => Date;
}): EventDeps {
  return { repo: d.repo, shards: d.config.shards, config: d.config, secret: d.secret, now: d.now };
}

/** When a send this event owes is due: now on the processing clock, or the event's time without one. */
const processedAt = (deps: EventDeps, at: Date) => deps.now?.() ?? at;

/** The bank's zone, whose calendar days the funnel counts in (the default when no config is given). */
const zoneOf = (deps: EventDeps) => deps.config?.quietHours.timeZone ?? TIME_ZONE;

const ENGAGEMENT_STAGE: Partial<Record<Event["type"], Stage>> = {
  delivered: "delivered",
  opened: "engaged",
  clicked: "engaged",
  replied: "responded",
  rsvp: "responded",
};

/** DOMAIN.md conversion per playbook: dormant → any transaction, salon → attended, maintenance → contact completed. */
const CONVERTS: Record<Campaign["playbook"], (e: Event) => boolean> = {
  "dormant-reactivation": (e) => e.type === "transaction",
  "salon-invite": (e) => e.type === "attended",
  "key-maintenance": (e) => e.type === "replied",
  "referral-drive": () => false, // converts through a referee's funded account (see referral path)
  // These convert on a later import (functions/growth/conversions.ts), not on an event.
  "tier-upgrade": () => false,
  "asset-retention": () => false,
  "card-upgrade": () => false,
  // A maturity reminder converts when the customer deposits (renews or re-invests) after it.
  "cd-maturity": (e) => e.type === "deposit",
};

/** The campaign's goal replaces its playbook's rule: "deposit ≥ X" converts on such a deposit. */
function converts(campaign: Campaign, e: Event): boolean {
  if (!campaign.goal) return CONVERTS[campaign.playbook](e);
  return campaign.goal.kind === "deposit" && e.type === "deposit" && (e.amount ?? 0) >= campaign.goal.atLeast;
}

const REFUSAL = /^\s*(R|TD|T|N|退订|拒收)\s*$/i;

const DEFAULT_RSVP_REPLIES = ["Y", "是"];
/** A reply that registers for the salon it answers (config `salon.rsvpReplies`, any case). */
function saysYes(text: string | undefined, config: TiercastConfig | undefined): boolean {
  if (!text) return false;
  const said = text.trim().toUpperCase();
  return (config?.salon?.rsvpReplies ?? DEFAULT_RSVP_REPLIES).some((y) => y.trim().toUpperCase() === said);
}
const DAY = 86_400_000;

const campaignCache = new Map<string, CampaignRecord | null>();
async function campaignOf(repo: Repo, campaignId: string): Promise<CampaignRecord | undefined> {
  if (!campaignCache.has(campaignId))
    campaignCache.set(campaignId, await loadCampaign(repo, campaignId).catch(() => null));
  return campaignCache.get(campaignId) ?? undefined;
}

function ledgerRow(deps: EventDeps, campaignId: string, customerId: string): Promise<LedgerRow | undefined> {
  return readRow(deps.repo, campaignId, shardOf(customerId, deps.shards), customerId);
}

const contactState = (repo: Repo, customerId: string) => readContact(repo, key.contactState(customerId));

/** Opt-outs belong to the contact owner; re-exported for the callers that record them through events. */
export { recordOptOut };

/** The campaign that last touched this customer (sent, or held out) within its attribution window. */
async function lastTouch(
  deps: EventDeps,
  event: Event,
  accept: (c: CampaignRecord, holdout: boolean) => boolean,
) {
  const state = await contactState(deps.repo, event.customerId);
  const at = Date.parse(event.at);
  const touches = [
    ...(state?.recent ?? [])
      .filter((r) => !event.channel || r.ch === event.channel)
      .map((r) => ({ c: r.c, at: r.at, holdout: false })),
    ...(state?.held ?? []).map((h) => ({ c: h.c, at: h.at, holdout: true })),
  ].sort((a, b) => b.at.localeCompare(a.at));
  for (const touch of touches) {
    const t = Date.parse(touch.at);
    if (t > at) continue;
    const record = await campaignOf(deps.repo, touch.c);
    if (!record) continue;
    const days = record.campaign.attributionDays ?? 30;
    if (at - t > days * DAY) continue;
    if (accept(record, touch.holdout)) return record;
  }
  return undefined;
}

/**
 * Ingests one event. The event id is claimed with a conditional put, so a replay is a duplicate and
 * changes nothing; stages move forward only (see advanceStage), so out-of-order events are harmless.
 */
export async function ingestEvent(raw: unknown, deps: EventDeps): Promise<IngestOutcome> {
  const parsed = Event.safeParse(raw);
  if (!parsed.success) return { status: "rejected", error: formatIssues(parsed.error.issues).join("; ") };
  const event = parsed.data;
  if (!(await claimEventId(deps.repo, event))) return { status: "duplicate" };
  const outcome = await applyEvent(event, deps);
  await markEventApplied(deps.repo, event.eventId, new Date().toISOString());
  return outcome;
}

async function applyEvent(event: Event, deps: EventDeps): Promise<IngestOutcome> {
  const at = new Date(event.at);

  if (event.type === "opted_out" || (event.type === "replied" && event.text && REFUSAL.test(event.text))) {
    await recordOptOut(
      deps.repo,
      event.customerId,
      event.channel ?? (event.type === "replied" ? "sms" : "all"),
      event.at,
      deps.secret,
    );
    if (event.type === "opted_out") return { status: "accepted" };
  }

  const stage = ENGAGEMENT_STAGE[event.type];
  if (stage || event.type === "failed") {
    const campaignId =
      event.campaignId ?? (await lastTouch(deps, event, (_c, holdout) => !holdout))?.campaignId;
    if (!campaignId) return { status: "accepted" };
    const row = await ledgerRow(deps, campaignId, event.customerId);
    if (!row || row.holdout) return { status: "accepted" };
    if (event.type === "failed") {
      await ledger.recordDeliveryFailure(deps.repo, row, event.at);
      return { status: "accepted", attributedTo: campaignId };
    }
    if (row.decision === "unknown") {
      // A receipt proves an unknown-outcome send went out: reconcile it to sent.
      await ledger.reconcileFromReceipt(deps.repo, row, event.messageId);
    } else if (row.decision !== "sent") return { status: "accepted" };
    const record = await campaignOf(deps.repo, campaignId);
    const salon = record?.campaign.event;
    // "Reply Y to register": a yes to a salon invitation is an RSVP (a seat, or the waitlist), once.
    const smsYes = event.type === "replied" && saysYes(event.text, deps.config);
    if ((event.type === "rsvp" || smsYes) && salon) {
      // A repeat answers the first one's status: the reminder and confirmation rows are written once
      // (a conditional put), so a retry of a first try cut short writes what that one still owed.
      const { status, repeat } = await rsvp(
        deps.repo,
        salon,
        event.customerId,
        campaignId,
        event.at,
        event.eventId,
      );
      if (status === "confirmed" && deps.config && deps.secret)
        await scheduleReminder(deps.repo, deps.config, deps.secret, record.campaign, event.customerId, at);
      // The SMS yes is answered (seat, waitlist or full), once per customer; a later yes of a guest
      // already answered gets "we have your reply", once too (its own campaign, one row per customer).
      const kind = confirmationKind(status);
      if (smsYes && kind && deps.config && deps.secret) {
        await scheduleConfirmation(
          deps.repo,
          deps.config,
          deps.secret,
          record.campaign,
          event.customerId,
          kind,
          processedAt(deps, at),
        );
        if (repeat)
          await scheduleConfirmation(
            deps.repo,
            deps.config,
            deps.secret,
            record.campaign,
            event.customerId,
            "already",
            processedAt(deps, at),
          );
      }
    }
    // An RM task converts only by the RM closing it with a contact outcome (functions/usecases/tasks.ts).
    const converted = record && row.channel !== "rm-task" && converts(record.campaign, event);
    // Beside the cumulative stage: the recipient's first open, click or reply, as it happened.
    if (isUniqueEvent(event.type))
      await countUnique(deps.repo, row, event.type, at, event.eventId, zoneOf(deps));
    await advanceStage(deps.repo, row, converted ? "converted" : stage!, at, {}, event.eventId, zoneOf(deps));
    return { status: "accepted", attributedTo: campaignId, stage: converted ? "converted" : stage };
  }

  if (event.type === "rsvp_cancelled") {
    const campaignId =
      event.campaignId ??
      (await lastTouch(deps, event, (c, holdout) => !holdout && Boolean(c.campaign.event)))?.campaignId;
    const salon = campaignId ? (await campaignOf(deps.repo, campaignId))?.campaign.event : undefined;
    const record = campaignId ? await campaignOf(deps.repo, campaignId) : undefined;
    if (salon && record) {
      const promoted = await cancelRsvp(deps.repo, salon, event.customerId, event.at);
      if (promoted && deps.config && deps.secret) {
        await scheduleReminder(
          deps.repo,
          deps.config,
          deps.secret,
          record.campaign,
          promoted,
          new Date(event.at),
        );
        // A guest told "waitlisted" by SMS is told the seat is theirs (once: its own campaign).
        if (await ledgerRow(deps, confirmationCampaignId(record.campaign.campaignId), promoted))
          await scheduleConfirmation(
            deps.repo,
            deps.config,
            deps.secret,
            record.campaign,
            promoted,
            "promoted",
            processedAt(deps, at),
          );
      }
    }
    return { status: "accepted", attributedTo: campaignId };
  }

  // Business events: the referral path first, then last-touch attribution by playbook rule.
  if (event.type === "account_opened" && event.referralCode) await recordReferee(deps, event);
  if ((event.type === "deposit" || event.type === "account_opened") && event.amount !== undefined) {
    const credited = await creditReferrer(deps, event);
    if (credited) return { status: "accepted", attributedTo: credited, stage: "converted" };
  }
  const record = await lastTouch(deps, event, (c) => converts(c.campaign, event));
  if (!record) return { status: "accepted" };
  const row = await ledgerRow(deps, record.campaignId, event.customerId);
  if (!row || (!row.holdout && row.decision !== "sent" && row.decision !== "unknown"))
    return { status: "accepted" };
  await advanceStage(deps.repo, row, "converted", at, {}, event.eventId, zoneOf(deps));
  return { status: "accepted", attributedTo: record.campaignId, stage: "converted" };
}

async function recordReferee(deps: EventDeps, event: Event) {
  const code = await deps.repo.get<{ campaignId: string; referrerId: string }>(
    key.referralCode(event.referralCode!.toUpperCase()),
  );
  if (!code || code.referrerId === event.customerId) return; // unknown code or self-referral
  const [referrer, referee] = await Promise.all([
    getCustomer(deps.repo, code.referrerId),
    getCustomer(deps.repo, event.customerId),
  ]);
  if (referrer?.phone && referee?.phone && referrer.phone === referee.phone) return; // one household, not a referral
  await putOnce(deps.repo, {
    PK: `REFEREE#${event.customerId}`,
    SK: "REFERRAL",
    campaignId: code.campaignId,
    referrerId: code.referrerId,
    code: event.referralCode!.toUpperCase(),
    openedAt: event.at,
  });
}

/** A referee's funded account (deposit ≥ the drive's minimum, within its window) converts the referrer and records a reward. */
async function creditReferrer(deps: EventDeps, event: Event): Promise<string | undefined> {
  const link = await deps.repo.get<{ campaignId: string; referrerId: string; openedAt: string }>({
    PK: `REFEREE#${event.customerId}`,
    SK: "REFERRAL",
  });
  if (!link) return undefined;
  const record = await campaignOf(deps.repo, link.campaignId);
  const referral = record?.campaign.referral;
  if (!record || !referral || (event.amount ?? 0) < referral.minDeposit) return undefined;
  const row = await ledgerRow(deps, link.campaignId, link.referrerId);
  if (!row?.sentAt && row?.decision !== "sent") return undefined;
  if (Date.parse(event.at) - Date.parse(row.sentAt ?? row.at) > (record.campaign.attributionDays ?? 30) * DAY)
    return undefined;
  const advanced = await advanceStage(
    deps.repo,
    row,
    "converted",
    new Date(event.at),
    {},
    event.eventId,
    zoneOf(deps),
  );
  await recordReward(deps.repo, {
    campaignId: link.campaignId,
    referrerId: link.referrerId,
    refereeId: event.customerId,
    reward: referral.reward,
    at: event.at,
  });
  return advanced || row.stage >= 6 ? link.campaignId : undefined;
}

/** Indexes of a batch's records grouped by customer id, each group in the batch's order (records without one stand alone). */
function byCustomer(batch: readonly { value: unknown }[]): number[][] {
  const groups = new Map<unknown, number[]>();
  batch.forEach((r, i) => {
    const id = (r.value as { customerId?: unknown } | null)?.customerId;
    const group = typeof id === "string" ? groups.get(id) : undefined;
    if (group) group.push(i);
    else groups.set(typeof id === "string" ? id : Symbol(), [i]);
  });
  return [...groups.values()];
}

export interface IngestReport {
  accepted: number;
  duplicates: number;
  rejected: { line: number; error: string }[];
}

/** Ingests parsed JSONL records (a file, or an HTTP body) in bounded batches; bad lines are reported, the rest kept. */
export async function ingestRecords(
  records:
    | AsyncIterable<{ line: number; value?: unknown; error?: string }>
    | Iterable<{ line: number; value?: unknown; error?: string }>,
  deps: EventDeps,
): Promise<IngestReport> {
  const report: IngestReport = { accepted: 0, duplicates: 0, rejected: [] };
  let batch: { line: number; value: unknown }[] = [];
  const flush = async () => {
    // Events are idempotent and stage moves are monotonic, but one customer's events depend on each
    // other (an account opening links a referee before its first deposit credits the referrer; an RSVP
    // before its cancellation): customers run concurrently, each customer's events in the file's order.
    // The store refusing one event's content is that line's rejection; the rest of the batch goes on.
    const outcomes = new Array<IngestOutcome>(batch.length);
    await mapLimit(byCustomer(batch), 8, async (group) => {
      for (const i of group)
        outcomes[i] = await ingestEvent(batch[i]!.value, deps).catch((err: Error): IngestOutcome => {
          if (err?.name !== "ValidationException") throw err;
          return { status: "rejected", error: `the store refused this event: ${err.message.split("\n")[0]}` };
        });
    });
    outcomes.forEach((o, i) => {
      if (o.status === "accepted") report.accepted++;
      else if (o.status === "duplicate") report.duplicates++;
      else report.rejected.push({ line: batch[i]!.line, error: o.error });
    });
    batch = [];
  };
  for await (const record of records) {
    if (record.error) report.rejected.push({ line: record.line, error: record.error });
    else batch.push({ line: record.line, value: record.value });
    if (batch.length >= 200) await flush();
  }
  await flush();
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}
