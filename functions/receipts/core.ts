import { createHmac, timingSafeEqual } from "node:crypto";
import { messagePointerKey } from "#functions/dispatch/core.ts";
import type { Event, IngestOutcome } from "#functions/events/core.ts";
import { type EventDeps, ingestEvent } from "#functions/events/core.ts";

/** Reads the ids a send put in its SES tag or SMS context (see providers.ts receiptTag). */
export function idsFromTag(tag: string | undefined): { campaignId: string; customerId: string } | undefined {
  if (!tag) return undefined;
  const [campaignId, customerId] = Buffer.from(tag, "base64url").toString("utf8").split("\n");
  return campaignId && customerId ? { campaignId, customerId } : undefined;
}

const SES_TYPES: Record<string, Event["type"] | undefined> = {
  Delivery: "delivered",
  Open: "opened",
  Click: "clicked",
  Bounce: "failed",
  Reject: "failed",
  RenderingFailure: "failed",
  // A complaint is the strongest refusal there is: no more marketing email.
  Complaint: "opted_out",
};

interface SesEvent {
  eventType?: string;
  notificationType?: string;
  mail?: { messageId?: string; timestamp?: string; tags?: Record<string, string[]> };
  bounce?: { bounceType?: string; timestamp?: string };
  delivery?: { timestamp?: string };
  open?: { timestamp?: string };
  click?: { timestamp?: string };
  complaint?: { timestamp?: string };
}

/** SES event destination (through SNS and SQS) → our event record, or undefined for what we do not track. */
export function fromSes(e: SesEvent): Event | undefined {
  const kind = e.eventType ?? e.notificationType ?? "";
  const type = SES_TYPES[kind];
  // A transient bounce is retried by SES; only a permanent one means the address is dead.
  if (!type || (kind === "Bounce" && e.bounce?.bounceType !== "Permanent")) return undefined;
  const ids = idsFromTag(e.mail?.tags?.tiercast?.[0]);
  if (!ids || !e.mail?.messageId) return undefined;
  const detail = (e as Record<string, { timestamp?: string } | undefined>)[kind.toLowerCase()];
  return {
    eventId: `ses:${e.mail.messageId}:${kind}`,
    type,
    ...ids,
    channel: "email",
    at: detail?.timestamp ?? e.mail.timestamp ?? new Date().toISOString(),
    messageId: e.mail.messageId,
  };
}

const SMS_DELIVERED = new Set(["TEXT_DELIVERED"]);
const SMS_FAILED = new Set([
  "TEXT_BLOCKED",
  "TEXT_CARRIER_BLOCKED",
  "TEXT_CARRIER_UNREACHABLE",
  "TEXT_INVALID",
  "TEXT_INVALID_MESSAGE",
  "TEXT_SPAM",
  "TEXT_TTL_EXPIRED",
  "TEXT_UNREACHABLE",
  "TEXT_OPTED_OUT",
]);

interface SmsEvent {
  eventType?: string;
  messageId?: string;
  eventTimestamp?: number;
  context?: Record<string, string>;
}

/** End User Messaging SMS event destination → delivered / failed. */
export function fromSmsEvent(e: SmsEvent): Event | undefined {
  const kind = e.eventType ?? "";
  const type = SMS_DELIVERED.has(kind) ? "delivered" : SMS_FAILED.has(kind) ? "failed" : undefined;
  const ids = idsFromTag(e.context?.tiercast);
  if (!type || !ids || !e.messageId) return undefined;
  return {
    eventId: `sms:${e.messageId}:${kind}`,
    type: kind === "TEXT_OPTED_OUT" ? "opted_out" : type,
    ...ids,
    channel: "sms",
    at: new Date(e.eventTimestamp ?? Date.now()).toISOString(),
    messageId: e.messageId,
  };
}

interface InboundSms {
  inboundMessageId?: string;
  messageBody?: string;
  previousPublishedMessageId?: string;
}

export const isInbound = (m: unknown): m is InboundSms =>
  typeof m === "object" && m !== null && "inboundMessageId" in m && "messageBody" in m;

/** A two-way SMS reply: attributed through the pointer of the message it answers; "R"/"退订" becomes an opt-out in ingest. */
export async function fromInbound(m: InboundSms, deps: EventDeps, at: string): Promise<Event | undefined> {
  if (!m.previousPublishedMessageId || !m.inboundMessageId) return undefined;
  const pointer = await deps.repo.get<{ campaignId: string; customerId: string }>(
    messagePointerKey(m.previousPublishedMessageId),
  );
  if (!pointer) return undefined;
  return {
    eventId: `sms-in:${m.inboundMessageId}`,
    type: "replied",
    campaignId: pointer.campaignId,
    customerId: pointer.customerId,
    channel: "sms",
    at,
    text: (m.messageBody ?? "").slice(0, 1000),
  };
}

/** One SQS body: an SNS envelope (or raw delivery) carrying an SES, SMS or inbound-SMS notification. */
export async function receiptEvent(
  body: string,
  deps: EventDeps,
  receivedAt: string,
): Promise<Event | undefined> {
  let message = JSON.parse(body) as Record<string, unknown>;
  if (message.Type === "Notification" && typeof message.Message === "string")
    message = JSON.parse(message.Message) as Record<string, unknown>;
  if (isInbound(message)) return fromInbound(message, deps, receivedAt);
  if ("mail" in message) return fromSes(message as SesEvent);
  if ("eventType" in message && "messageId" in message) return fromSmsEvent(message as SmsEvent);
  return undefined;
}

export async function ingestReceipt(
  body: string,
  deps: EventDeps,
  receivedAt: string,
): Promise<{ event: Event; outcome: IngestOutcome } | undefined> {
  const event = await receiptEvent(body, deps, receivedAt);
  return event ? { event, outcome: await ingestEvent(event, deps) } : undefined;
}

/** `sha256=<hex>` over the raw body with the shared secret: how an SMS gateway's webhook proves it is the gateway. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", `webhook#${secret}`).update(body).digest("hex")}`;
}

export function verifyWebhook(secret: string, body: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(webhookSignature(secret, body));
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
