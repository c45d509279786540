import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { prepare, renderMessage } from "#functions/campaign/decide.ts";
import { findCampaign, saveCampaign } from "#functions/campaign/record.ts";
import {
  type Campaign,
  parseCampaign,
  type ResolvedCampaign,
  type SalonEvent,
} from "#functions/campaign/schema.ts";
import { nextWindowStart } from "#functions/campaign/time.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { rowFromDecision, transactionalRow } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import { RSVP_TEXTS, type TiercastConfig } from "#platform/config.ts";
import { CampaignValidationError, ConflictError } from "#platform/errors.ts";
import { hash32 } from "#platform/hash.ts";
import { logger } from "#platform/logger.ts";
import { conditional, isConditionFailed, type Repo } from "#platform/repo.ts";

/** `full`: the seats were taken and the salon keeps no waitlist (`event.waitlist: false`). */
export type RsvpStatus = "confirmed" | "waitlisted" | "full" | "cancelled";

const seatKey = (eventId: string) => ({ PK: `SALON#${eventId}`, SK: "SEATS" });
const rsvpKey = (eventId: string, customerId: string) => ({
  PK: `SALON#${eventId}`,
  SK: `RSVP#${customerId}`,
});

/**
 * Takes a seat for this customer if one is left, at most once per customer: the seats item counts the
 * seats and holds the set of their holders, in one conditional update (atomic: the count can never pass
 * the capacity, and a retry or a racing copy of the same RSVP finds the customer already holding one).
 * True when the customer holds a seat after the call.
 */
async function takeSeat(repo: Repo, eventId: string, capacity: number, customerId: string): Promise<boolean> {
  const took = await conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: seatKey(eventId),
        UpdateExpression:
          "SET taken = if_not_exists(taken, :zero) + :one, #capacity = :cap ADD holders :holder",
        ConditionExpression:
          "(attribute_not_exists(taken) OR taken < :cap) AND (attribute_not_exists(holders) OR NOT contains(holders, :c))",
        ExpressionAttributeNames: { "#capacity": "capacity" },
        ExpressionAttributeValues: {
          ":zero": 0,
          ":one": 1,
          ":cap": capacity,
          ":holder": new Set([customerId]),
          ":c": customerId,
        },
      }),
    ),
  );
  return took || holdsSeat(repo, eventId, customerId);
}

async function holdsSeat(repo: Repo, eventId: string, customerId: string): Promise<boolean> {
  const seats = await repo.get<{ holders?: Set<string> }>(seatKey(eventId));
  return seats?.holders?.has(customerId) ?? false;
}

interface RsvpRecord {
  status: RsvpStatus | "pending";
  campaignId: string;
  at: string;
  /** The event id of the reply that made the RSVP (absent on RSVPs older than it). */
  replyId?: string;
}

/**
 * An RSVP fills a seat, or joins the waitlist when the salon is full (or is answered `full` when it
 * keeps none). A customer's first RSVP counts; a repeat changes nothing and answers the status the first
 * one left. The `pending` record is the RSVP's intent: written first, it names the customer's first
 * reply, and whoever finds it still pending (the first run, a retry of a run cut short before its seat,
 * or a racing copy) completes it, exactly once (see completeRsvp). `repeat` is a later reply of a guest
 * whose RSVP was complete already (not the first reply's own retry, nor a copy that completed it).
 */
export async function rsvp(
  repo: Repo,
  event: Pick<SalonEvent, "eventId" | "capacity" | "waitlist">,
  customerId: string,
  campaignId: string,
  at: string,
  replyId?: string,
): Promise<{ status: RsvpStatus; repeat: boolean }> {
  const { eventId } = event;
  const intent: RsvpRecord = { status: "pending", campaignId, at, ...(replyId ? { replyId } : {}) };
  try {
    await repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...rsvpKey(eventId, customerId), ...intent },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    const first = await repo.get<RsvpRecord>(rsvpKey(eventId, customerId));
    if (first && first.status !== "pending")
      return { status: first.status, repeat: !replyId || first.replyId !== replyId };
    return { status: await completeRsvp(repo, event, customerId, first ?? intent), repeat: false };
  }
  return { status: await completeRsvp(repo, event, customerId, intent), repeat: false };
}

/**
 * Completes a pending RSVP: a seat (taken once per customer, so a retry or a racing copy takes none
 * more), else the waitlist entry (keyed by the first reply's time, so a retry writes the same one), and
 * then the status, only over `pending`. A copy that loses that write answers the winner's status; one
 * that holds a seat while the winner wrote the waitlist (a seat freed between the two) moves the record
 * to the seat, so a seat held is never one nobody has.
 */
async function completeRsvp(
  repo: Repo,
  event: Pick<SalonEvent, "eventId" | "capacity" | "waitlist">,
  customerId: string,
  intent: RsvpRecord,
): Promise<RsvpStatus> {
  const { eventId, capacity } = event;
  const { campaignId, at } = intent;
  const record = { campaignId, at, ...(intent.replyId ? { replyId: intent.replyId } : {}) };
  const waitKey = { PK: `SALON#${eventId}`, SK: `WAIT#${at}#${customerId}` };
  const seated = await takeSeat(repo, eventId, capacity, customerId);
  const status: RsvpStatus = seated ? "confirmed" : event.waitlist === false ? "full" : "waitlisted";
  // The waitlist entry first: a run cut short after it leaves the RSVP pending, and its retry completes it.
  if (status === "waitlisted") await repo.put({ ...waitKey, customerId, campaignId, at });
  const wrote = await setStatus(repo, eventId, customerId, { status, ...record }, ["pending"]);
  if (!wrote) {
    const winner = (await repo.get<RsvpRecord>(rsvpKey(eventId, customerId)))?.status ?? "pending";
    if (!seated || winner === "confirmed" || winner === "cancelled" || winner === "pending")
      return winner === "pending" ? status : winner;
    // The winner found no seat, this copy holds one: the guest takes it and leaves the line.
    if (!(await setStatus(repo, eventId, customerId, { status, ...record }, [winner])))
      return (await repo.get<RsvpRecord>(rsvpKey(eventId, customerId)))?.status as RsvpStatus;
  }
  if (seated) await repo.delete(waitKey); // an entry a run that found no seat wrote before
  return status;
}

/** Writes an RSVP's status only over one of the given ones (false when it was another). */
function setStatus(
  repo: Repo,
  eventId: string,
  customerId: string,
  record: RsvpRecord & Record<string, unknown>,
  over: (RsvpStatus | "pending")[],
): Promise<boolean> {
  const values = Object.fromEntries(over.map((s, i) => [`:s${i}`, s]));
  return conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...rsvpKey(eventId, customerId), ...record },
        ConditionExpression: `#status IN (${Object.keys(values).join(", ")})`,
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

/**
 * A cancellation releases the seat, and the longest-waiting customer on the waitlist takes it. An RSVP
 * still pending (its run cut short) is completed first, so what it holds is what is released.
 */
export async function cancelRsvp(
  repo: Repo,
  event: Pick<SalonEvent, "eventId" | "capacity" | "waitlist">,
  customerId: string,
  at: string,
): Promise<string | undefined> {
  const { eventId, capacity } = event;
  const record = await repo.get<RsvpRecord>(rsvpKey(eventId, customerId));
  if (!record) return undefined;
  // Cancelled already: a racing copy, or a run cut short after the status; a seat still held is freed.
  if (record.status === "cancelled" && !(await holdsSeat(repo, eventId, customerId))) return undefined;
  const current = {
    at: record.at,
    status: record.status === "pending" ? await completeRsvp(repo, event, customerId, record) : record.status,
  };
  if (current.status !== "cancelled")
    await repo.put({ ...rsvpKey(eventId, customerId), status: "cancelled", at });
  if (current.status === "full") return undefined; // held neither a seat nor a place in line
  if (current.status === "waitlisted") {
    await repo.ddb.send(
      new DeleteCommand({
        TableName: repo.table,
        Key: { PK: `SALON#${eventId}`, SK: `WAIT#${current.at}#${customerId}` },
      }),
    );
    return undefined;
  }
  // The holder's seat is freed once: a racing copy finds it freed, and promotes nobody.
  const freed = await conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: seatKey(eventId),
        UpdateExpression: "SET taken = taken - :one DELETE holders :holder",
        ConditionExpression: "taken > :zero AND contains(holders, :c)",
        ExpressionAttributeValues: {
          ":one": 1,
          ":zero": 0,
          ":holder": new Set([customerId]),
          ":c": customerId,
        },
      }),
    ),
  );
  if (!freed) return undefined;
  for (;;) {
    const next = await repo.ddb.send(
      new QueryCommand({
        TableName: repo.table,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :w)",
        ExpressionAttributeValues: { ":pk": `SALON#${eventId}`, ":w": "WAIT#" },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const waiting = next.Items?.[0];
    if (!waiting) return undefined;
    try {
      // Whoever deletes the waitlist entry promotes that customer; a racing cancellation takes the next one.
      await repo.ddb.send(
        new DeleteCommand({
          TableName: repo.table,
          Key: { PK: waiting.PK, SK: waiting.SK },
          ConditionExpression: "attribute_exists(PK)",
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) continue;
      throw err;
    }
    if (!(await takeSeat(repo, eventId, capacity, String(waiting.customerId)))) return undefined;
    await repo.put({
      ...rsvpKey(eventId, String(waiting.customerId)),
      status: "confirmed",
      campaignId: waiting.campaignId,
      at,
      promotedFromWaitlist: true,
    });
    return String(waiting.customerId);
  }
}

/**
 * A salon's seats and its RSVPs by status. `pending` counts the RSVPs not completed yet: being applied
 * this moment, or cut short before their seat (the reply's retry completes them; none should stay).
 */
export async function salonStatus(repo: Repo, eventId: string) {
  const seats = await repo.get<{ taken?: number; capacity?: number }>(seatKey(eventId));
  const counts: Record<RsvpStatus | "pending", number> = {
    confirmed: 0,
    waitlisted: 0,
    full: 0,
    cancelled: 0,
    pending: 0,
  };
  for await (const item of repo.queryAll(`SALON#${eventId}`, { skBeginsWith: "RSVP#" })) {
    const s = item.status as RsvpStatus | "pending";
    if (s in counts) counts[s]++;
  }
  return { eventId, capacity: seats?.capacity ?? 0, seatsTaken: seats?.taken ?? 0, ...counts };
}

/**
 * A confirmed guest gets a reminder before the event (reminderHoursBefore, moved into the sending
 * window). It is its own campaign (`<campaign>-reminder`) so the invitation's ledger row stays one per
 * recipient; the row waits as deferred until `tick` (or the scheduled releaser) sends it.
 */
export async function scheduleReminder(
  repo: Repo,
  config: TiercastConfig,
  secret: string,
  invitation: Campaign,
  customerId: string,
  now: Date,
): Promise<boolean> {
  const event = invitation.event;
  if (!event) return false;
  const reminder = derivedCampaign(
    {
      campaignId: derivedCampaignId(invitation.campaignId, "reminder"),
      name: `${invitation.name ?? invitation.campaignId} (reminder)`,
      playbook: "salon-invite",
      segment: invitation.segment,
      event,
      holdoutPercent: 0,
      variants: [
        {
          id: "REMIND",
          tiers: invitation.segment.tiers,
          channel: "sms",
          template:
            "{{name|尊敬的客户}}您好，提醒您：{{eventName|活动}}将于{{eventTime}}在{{venue|网点}}举行，期待您的光临。",
          ...(event.reminderSmsTemplateCode
            ? { smsTemplateCode: event.reminderSmsTemplateCode }
            : templateCode(config, "reminder")),
        },
      ],
    },
    config,
    "reminder",
  );
  if (!reminder) return false;
  await ensureCampaign(repo, reminder, now);
  const customer = await getCustomer(repo, customerId);
  if (!customer?.phone) return false;
  const ctx = prepare(reminder, config, now, secret);
  const message = renderMessage(customer, ctx.variants[0]!.primary, ctx, reminder.variants[0]!);
  if ("missing" in message) return false;
  const dueAt = nextWindowStart(
    new Date(Date.parse(event.startsAt) - event.reminderHoursBefore * 3_600_000),
    config.quietHours,
  );
  if (dueAt.getTime() <= now.getTime() || dueAt.getTime() >= Date.parse(event.startsAt)) return false;
  const due = dueAt.toISOString();
  const row = rowFromDecision(
    {
      customerId,
      shard: customer.shard,
      tier: customer.tier,
      decision: "deferred",
      channel: "sms",
      variant: "REMIND",
      dueAt: due,
      message,
    },
    reminder.campaignId,
    now.toISOString(),
  );
  return ledger.putRowOnce(repo, row);
}

/**
 * A campaign the salon derives from its invitation (the reminder, the RSVP confirmation), saved once:
 * two RSVPs at once may both create it, and the loser finds it created (same definition). A definition
 * saved before (by an earlier config) stays as it was: the texts are on each row's message.
 */
async function ensureCampaign(repo: Repo, campaign: Campaign, now: Date) {
  if (await findCampaign(repo, campaign.campaignId)) return;
  await saveCampaign(repo, campaign, now).catch((err: unknown) => {
    if (!(err instanceof ConflictError)) throw err;
  });
}

export type ConfirmationKind = "seat" | "waitlisted" | "full";
/** The salon's later SMS to a guest: a seat freed for them (`promoted`), a repeated yes (`already`). */
export type FollowUpKind = "promoted" | "already";
const CONFIRMATION_VARIANT: Record<ConfirmationKind, string> = {
  seat: "SEAT",
  waitlisted: "WAIT",
  full: "FULL",
};

/** The kind of confirmation an RSVP's status gets (none while it is pending or cancelled). */
export function confirmationKind(status: RsvpStatus | "pending"): ConfirmationKind | undefined {
  return status === "confirmed" ? "seat" : status === "waitlisted" || status === "full" ? status : undefined;
}

/** The invitation's language: `zh` when any of its texts has Chinese characters, else `en`. */
export function invitationLanguage(invitation: Campaign): "zh" | "en" {
  const texts = invitation.variants.flatMap((v) => [v.template, v.fallbackTemplate ?? "", v.subject ?? ""]);
  return texts.some((t) => /[\u3400-\u9fff]/.test(t)) ? "zh" : "en";
}

/** The id of an invitation's confirmation campaign. */
export const confirmationCampaignId = (invitationId: string) => derivedCampaignId(invitationId, "rsvp");

/**
 * `<invitation>-<suffix>` within a campaign id's 64 characters. An invitation id too long for that
 * keeps its start and gains a hash of the whole id, so the derived campaigns of one invitation never
 * share an id with each other (cutting at 64 made `-rsvp`, `-rsvp-seat` and `-rsvp-again` one id from
 * 58 characters on), nor with those of another invitation that starts the same.
 */
export function derivedCampaignId(invitationId: string, suffix: string): string {
  const whole = `${invitationId}-${suffix}`;
  if (whole.length <= 64) return whole;
  const tag = hash32(invitationId).toString(36).padStart(7, "0");
  return `${invitationId.slice(0, 64 - suffix.length - tag.length - 2)}-${tag}-${suffix}`;
}

/** The confirmation campaign of an invitation (`<campaign>-rsvp`): one SMS variant per kind. */
export function confirmationCampaign(
  invitation: Campaign,
  config: TiercastConfig,
): ResolvedCampaign | undefined {
  const texts = config.salon.confirmations[invitationLanguage(invitation)];
  const template: Record<ConfirmationKind, string> = {
    seat: texts.seat,
    waitlisted: texts.waitlisted,
    full: texts.full,
  };
  return derivedCampaign(
    {
      campaignId: confirmationCampaignId(invitation.campaignId),
      name: `${invitation.name ?? invitation.campaignId} (RSVP confirmation)`,
      playbook: "salon-invite",
      segment: invitation.segment,
      event: invitation.event,
      holdoutPercent: 0,
      // Chosen by the RSVP's outcome, never drawn: the weights only make the three a valid split.
      variants: (Object.keys(CONFIRMATION_VARIANT) as ConfirmationKind[]).map((kind) => ({
        id: CONFIRMATION_VARIANT[kind],
        tiers: invitation.segment.tiers,
        channel: "sms",
        template: template[kind],
        weight: 1,
        ...templateCode(config, kind),
      })),
    },
    config,
    "confirmation",
  );
}

const FOLLOW_UP: Record<FollowUpKind, { suffix: string; variant: string; name: string }> = {
  promoted: { suffix: "rsvp-seat", variant: "SEAT", name: "seat freed" },
  already: { suffix: "rsvp-again", variant: "AGAIN", name: "already answered" },
};

/**
 * A follow-up campaign of an invitation (`<campaign>-rsvp-seat`, `<campaign>-rsvp-again`): its own
 * campaign, so that SMS is one per guest beside the confirmation (a ledger row is one per customer).
 */
export function followUpCampaign(
  invitation: Campaign,
  config: TiercastConfig,
  kind: FollowUpKind,
): ResolvedCampaign | undefined {
  const language = invitationLanguage(invitation);
  const { suffix, variant, name } = FOLLOW_UP[kind];
  return derivedCampaign(
    {
      campaignId: derivedCampaignId(invitation.campaignId, suffix),
      name: `${invitation.name ?? invitation.campaignId} (${name})`,
      playbook: "salon-invite",
      segment: invitation.segment,
      event: invitation.event,
      holdoutPercent: 0,
      variants: [
        {
          id: variant,
          tiers: invitation.segment.tiers,
          channel: "sms",
          template: config.salon.confirmations[language][kind] ?? RSVP_TEXTS[language][kind],
          ...templateCode(config, kind),
        },
      ],
    },
    config,
    name,
  );
}

/** The vendor template code configured for one of the salon's own SMS (AWS China), if any. */
function templateCode(config: TiercastConfig, kind: ConfirmationKind | FollowUpKind | "reminder") {
  const code = config.salon.templateCodes?.[kind];
  return code ? { smsTemplateCode: code } : {};
}

/**
 * A campaign the salon derives, validated like any: through a domestic SMS vendor without the template
 * codes configured (`salon.templateCodes`) it cannot be sent, so it is skipped with a warning (the RSVP
 * itself stands; throwing would only make the reply event fail on every retry).
 */
function derivedCampaign(raw: unknown, config: TiercastConfig, what: string): ResolvedCampaign | undefined {
  try {
    return parseCampaign(raw, config);
  } catch (err) {
    if (!(err instanceof CampaignValidationError)) throw err;
    logger.warn(`salon ${what} not sent: its campaign is not valid in this configuration`, {
      problems: err.problems,
    });
    return undefined;
  }
}

/**
 * The SMS that answers a customer's "yes" to a salon invitation: a transactional ledger row of the
 * invitation's confirmation campaign, one per customer (a redelivered or repeated reply finds it and
 * writes nothing). It goes through dispatch like any send, which skips the marketing caps for a
 * transactional row (it neither is capped nor counts) but keeps every other rule: an opt-out (also one
 * stored after the reply), a wrong or missing number, and quiet hours. The row waits as deferred,
 * due at the reply (or the next window's start, a reply at night), until the releaser sends it.
 * True when this call wrote the row.
 */
export async function scheduleConfirmation(
  repo: Repo,
  config: TiercastConfig,
  secret: string,
  invitation: Campaign,
  customerId: string,
  kind: ConfirmationKind | FollowUpKind,
  now: Date,
): Promise<boolean> {
  if (!invitation.event) return false;
  const followUp = kind === "promoted" || kind === "already";
  const confirmation = followUp
    ? followUpCampaign(invitation, config, kind)
    : confirmationCampaign(invitation, config);
  if (!confirmation) return false;
  await ensureCampaign(repo, confirmation, now);
  const customer = await getCustomer(repo, customerId);
  if (!customer) return false;
  const decidedAt = now.toISOString();
  const variant = followUp ? FOLLOW_UP[kind].variant : CONFIRMATION_VARIANT[kind];
  const base = { customerId, shard: customer.shard, tier: customer.tier, channel: "sms" as const, variant };
  if (!customer.phone)
    return ledger.putRowOnce(
      repo,
      transactionalRow(
        { ...base, decision: "excluded", reason: "uncontactable" },
        confirmation.campaignId,
        decidedAt,
      ),
    );
  const ctx = prepare(confirmation, config, now, secret);
  const i = confirmation.variants.findIndex((v) => v.id === variant);
  const message = renderMessage(customer, ctx.variants[i]!.primary, ctx, confirmation.variants[i]!);
  if ("missing" in message) return false;
  const dueAt = nextWindowStart(now, config.quietHours).toISOString();
  return ledger.putRowOnce(
    repo,
    transactionalRow({ ...base, decision: "deferred", dueAt, message }, confirmation.campaignId, decidedAt),
  );
}
