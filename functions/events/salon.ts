import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { prepare, renderMessage } from "#functions/campaign/decide.ts";
import { findCampaign, saveCampaign } from "#functions/campaign/record.ts";
import { type Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { nextWindowStart } from "#functions/campaign/time.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { rowFromDecision } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { ConflictError } from "#platform/errors.ts";
import { logger } from "#platform/logger.ts";
import { conditional, isConditionFailed, type Repo } from "#platform/repo.ts";

export type RsvpStatus = "confirmed" | "waitlisted" | "cancelled";

const seatKey = (eventId: string) => ({ PK: `SALON#${eventId}`, SK: "SEATS" });
const rsvpKey = (eventId: string, customerId: string) => ({
  PK: `SALON#${eventId}`,
  SK: `RSVP#${customerId}`,
});

/** Takes a seat if one is left (atomic: the count can never pass the capacity). */
async function takeSeat(repo: Repo, eventId: string, capacity: number): Promise<boolean> {
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: seatKey(eventId),
        UpdateExpression: "SET taken = if_not_exists(taken, :zero) + :one, #capacity = :cap",
        ConditionExpression: "attribute_not_exists(taken) OR taken < :cap",
        ExpressionAttributeNames: { "#capacity": "capacity" },
        ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":cap": capacity },
      }),
    ),
  );
}

/**
 * An RSVP fills a seat, or joins the waitlist when the salon is full. A customer's first RSVP counts;
 * repeats change nothing.
 */
export async function rsvp(
  repo: Repo,
  eventId: string,
  capacity: number,
  customerId: string,
  campaignId: string,
  at: string,
): Promise<RsvpStatus | "repeat"> {
  try {
    await repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...rsvpKey(eventId, customerId), status: "pending", campaignId, at },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (err) {
    if (isConditionFailed(err)) return "repeat";
    throw err;
  }
  const status: RsvpStatus = (await takeSeat(repo, eventId, capacity)) ? "confirmed" : "waitlisted";
  await repo.put({ ...rsvpKey(eventId, customerId), status, campaignId, at });
  if (status === "waitlisted")
    await repo.put({ PK: `SALON#${eventId}`, SK: `WAIT#${at}#${customerId}`, customerId, campaignId, at });
  return status;
}

/** A cancellation releases the seat, and the longest-waiting customer on the waitlist takes it. */
export async function cancelRsvp(
  repo: Repo,
  eventId: string,
  capacity: number,
  customerId: string,
  at: string,
): Promise<string | undefined> {
  const current = await repo.get<{ status: RsvpStatus; at: string }>(rsvpKey(eventId, customerId));
  if (!current || current.status === "cancelled") return undefined;
  await repo.put({ ...rsvpKey(eventId, customerId), status: "cancelled", at });
  if (current.status === "waitlisted") {
    await repo.ddb.send(
      new DeleteCommand({
        TableName: repo.table,
        Key: { PK: `SALON#${eventId}`, SK: `WAIT#${current.at}#${customerId}` },
      }),
    );
    return undefined;
  }
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: seatKey(eventId),
      UpdateExpression: "SET taken = taken - :one",
      ConditionExpression: "taken > :zero",
      ExpressionAttributeValues: { ":one": 1, ":zero": 0 },
    }),
  );
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
    if (!(await takeSeat(repo, eventId, capacity))) return undefined;
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

export async function salonStatus(repo: Repo, eventId: string) {
  const seats = await repo.get<{ taken?: number; capacity?: number }>(seatKey(eventId));
  const counts: Record<RsvpStatus, number> = { confirmed: 0, waitlisted: 0, cancelled: 0 };
  for await (const item of repo.queryAll(`SALON#${eventId}`, { skBeginsWith: "RSVP#" })) {
    const s = item.status as RsvpStatus;
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
  // An invitation saved before its vendor needed the code has no reminder to send (the seat stands).
  if (config.sms.vendor && !event.reminderSmsTemplateCode) {
    logger.warn("no RSVP reminder: the invitation has no event.reminderSmsTemplateCode", {
      campaignId: invitation.campaignId,
    });
    return false;
  }
  const reminder = parseCampaign(
    {
      campaignId: `${invitation.campaignId}-reminder`.slice(0, 64),
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
          ...(event.reminderSmsTemplateCode ? { smsTemplateCode: event.reminderSmsTemplateCode } : {}),
        },
      ],
    },
    config,
  );
  const existing = await findCampaign(repo, reminder.campaignId);
  // Two RSVPs at once may both create the reminder campaign: the loser finds it created (same definition).
  if (!existing)
    await saveCampaign(repo, reminder, now).catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
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
