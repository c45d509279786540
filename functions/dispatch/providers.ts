import type { RenderedMessage } from "#functions/campaign/decide.ts";
import { PROVIDER_CLIENT_CONFIG } from "#platform/clients.ts";
import {
  ProviderPermanentError,
  ProviderRetryableError,
  ProviderThrottledError,
  ProviderUnknownOutcomeError,
} from "#platform/errors.ts";
import type { Provider, SendContext } from "./core.ts";

export const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** SMS through an HTTP gateway (the embedded sink, or a bank's own gateway with the same shape). */
export function httpSmsProvider(endpoint: string, timeoutMs = 5000): Provider {
  return {
    async send(message: RenderedMessage, context: SendContext) {
      let response: Response;
      try {
        response = await fetch(`${endpoint}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": context.sendKey },
          body: JSON.stringify({ to: message.to, text: message.text, tag: context.sendKey }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        if (cause?.code && NOT_SENT_CODES.has(cause.code))
          throw new ProviderRetryableError(`SMS gateway unreachable (${cause.code})`);
        // Timed out or cut off after the request left: the gateway may have sent it.
        throw new ProviderUnknownOutcomeError(`SMS gateway did not answer: ${(err as Error).name}`);
      }
      const body = (await response.json().catch(() => ({}))) as { messageId?: string; error?: string };
      if (response.status === 429)
        throw new ProviderThrottledError(`SMS gateway 429${body.error ? `: ${body.error}` : ""}`);
      if (response.status >= 500)
        throw new ProviderRetryableError(
          `SMS gateway ${response.status}${body.error ? `: ${body.error}` : ""}`,
        );
      if (!response.ok || !body.messageId)
        throw new ProviderPermanentError(`SMS gateway ${response.status}: ${body.error ?? "rejected"}`);
      return { messageId: body.messageId };
    },
  };
}

/**
 * Asks an HTTP gateway (the embedded sink, or a bank's gateway with the same shape) whether it holds a
 * message with our send key: its own record reconciles a send whose answer was lost.
 */
export function httpSmsLookup(endpoint: string, timeoutMs = 5000) {
  return async (
    sendKey: string,
  ): Promise<{ received: true; messageId: string } | { received: false } | undefined> => {
    const response = await fetch(`${endpoint}/messages/by-tag/${encodeURIComponent(sendKey)}`, {
      signal: AbortSignal.timeout(timeoutMs),
    }).catch(() => undefined);
    if (!response) return undefined;
    if (response.status === 404) return { received: false };
    const body = (await response.json().catch(() => ({}))) as { messageId?: string };
    return response.ok && body.messageId ? { received: true, messageId: body.messageId } : undefined;
  };
}

/** SMS through AWS End User Messaging SMS; our send key rides in Context so receipts find the row. */
export async function awsSmsProvider(
  originationIdentity: string | undefined,
  configurationSet?: string,
): Promise<Provider> {
  const sms = await import("@aws-sdk/client-pinpoint-sms-voice-v2");
  const client = new sms.PinpointSMSVoiceV2Client({ ...PROVIDER_CLIENT_CONFIG });
  return {
    async send(message, context) {
      try {
        const out = await client.send(
          new sms.SendTextMessageCommand({
            DestinationPhoneNumber: message.to,
            MessageBody: message.text,
            MessageType: "PROMOTIONAL",
            OriginationIdentity: originationIdentity,
            ConfigurationSetName: configurationSet,
            Context: { tiercast: receiptTag(context.campaignId, context.customerId) },
          }),
        );
        return { messageId: out.MessageId ?? context.sendKey };
      } catch (err) {
        throw classifyAwsError(err);
      }
    },
  };
}

/** Email over SMTP: the embedded server locally, the bank's relay in AWS China (credentials from Secrets Manager). */
export async function smtpProvider(
  url: string,
  from: string,
  auth?: { user: string; pass: string },
): Promise<Provider> {
  const nodemailer = await import("nodemailer");
  const transport = nodemailer.createTransport(url, {
    pool: true,
    maxConnections: 4,
    socketTimeout: 10_000,
    ...(auth ? { auth } : {}),
  } as never);
  return {
    async send(message, context) {
      try {
        const info = await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          html: message.html,
          headers: {
            "List-Unsubscribe": message.listUnsubscribe ?? "",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Tiercast-Key": context.sendKey,
          },
        });
        return { messageId: info.messageId };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; message: string };
        if (e.responseCode && e.responseCode >= 500)
          throw new ProviderPermanentError(`SMTP ${e.responseCode}: ${e.message}`);
        if (e.responseCode && e.responseCode >= 400)
          throw new ProviderRetryableError(`SMTP ${e.responseCode}: ${e.message}`);
        if (e.code === "ECONNECTION" || (e.code === "ESOCKET" && /ECONNREFUSED/.test(e.message)))
          throw new ProviderRetryableError(`SMTP unreachable: ${e.message}`);
        throw new ProviderUnknownOutcomeError(`SMTP outcome unknown: ${e.message}`);
      }
    },
  };
}

/** Email through SES v2, with the send key as a message tag for event destinations. */
export async function sesProvider(from: string, configurationSet?: string): Promise<Provider> {
  const ses = await import("@aws-sdk/client-sesv2");
  const client = new ses.SESv2Client({ ...PROVIDER_CLIENT_CONFIG });
  return {
    async send(message, context) {
      try {
        const out = await client.send(
          new ses.SendEmailCommand({
            FromEmailAddress: from,
            Destination: { ToAddresses: [message.to] },
            ConfigurationSetName: configurationSet,
            // SES tag values allow only [A-Za-z0-9_-]: the ids ride base64url-encoded, so receipts find the row.
            EmailTags: [{ Name: "tiercast", Value: receiptTag(context.campaignId, context.customerId) }],
            ListManagementOptions: undefined,
            Content: {
              Simple: {
                Subject: { Data: message.subject ?? "", Charset: "UTF-8" },
                Body: { Html: { Data: message.html ?? "", Charset: "UTF-8" } },
                Headers: [
                  { Name: "List-Unsubscribe", Value: message.listUnsubscribe ?? "" },
                  { Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click" },
                ],
              },
            },
          }),
        );
        return { messageId: out.MessageId ?? context.sendKey };
      } catch (err) {
        throw classifyAwsError(err);
      }
    },
  };
}

function classifyAwsError(err: unknown): Error {
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === "ThrottlingException" || e.name === "TooManyRequestsException" || status === 429)
    return new ProviderThrottledError(`${e.name}: ${e.message}`);
  if (status && status >= 500) return new ProviderRetryableError(`${e.name}: ${e.message}`);
  if (status && status >= 400) return new ProviderPermanentError(`${e.name}: ${e.message}`);
  return new ProviderUnknownOutcomeError(`${e.name}: ${e.message}`);
}

/** The ids a provider event carries back (SES tag, SMS context), in the only alphabet SES tags accept. */
export const receiptTag = (campaignId: string, customerId: string) =>
  Buffer.from(`${campaignId}\n${customerId}`).toString("base64url");
