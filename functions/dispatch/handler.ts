import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import type { Channel } from "#functions/campaign/schema.ts";
import { baseDeps } from "#shared/deps.ts";
import { env } from "#shared/env.ts";
import { logger } from "#shared/logger.ts";
import { recordOutcomes } from "#shared/metrics.ts";
import type { DispatchMessage } from "#shared/queue.ts";
import { loadSecret } from "#shared/secret.ts";
import { type DispatchDeps, type Provider, pacer, processDispatch } from "./core.ts";
import { awsSmsProvider, httpSmsProvider, rmTaskProvider, sesProvider, smtpProvider } from "./providers.ts";

let deps: Promise<DispatchDeps> | undefined;

/** The SMTP relay's credentials (AWS China), kept in Secrets Manager rather than in any variable. */
async function smtpAuth(secretArn: string | undefined) {
  if (!secretArn) return undefined;
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
  const value = JSON.parse(out.SecretString ?? "{}") as { username?: string; password?: string };
  if (!value.username || !value.password)
    throw new Error("the SMTP relay secret needs username and password");
  return { user: value.username, pass: value.password };
}

async function buildDeps(): Promise<DispatchDeps> {
  const base = baseDeps();
  const e = env();
  const providers: Partial<Record<Channel, Provider>> = {
    sms: e.SMS_ENDPOINT
      ? httpSmsProvider(e.SMS_ENDPOINT, Number(process.env.SMS_TIMEOUT_MS ?? 5000))
      : await awsSmsProvider(e.SMS_ORIGINATION, e.SMS_CONFIGURATION_SET),
    email: e.SMTP_URL
      ? await smtpProvider(e.SMTP_URL, base.config.email.from, await smtpAuth(e.SMTP_SECRET_ARN))
      : await sesProvider(e.SES_FROM ?? base.config.email.from, e.SES_CONFIGURATION_SET),
    "rm-task": rmTaskProvider(base.repo, base.now),
  };
  return {
    ...base,
    providers,
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? 5),
    leaseMs: Number(process.env.LEASE_MS ?? 120_000),
    messagePointers: e.SMS_REPLY_POINTERS === "true",
    pace: pacer({ sms: base.config.sms.ratePerSecond, email: base.config.email.ratePerSecond }),
  };
}

/** Rebuilt when the runtime moves endpoints (the embedded runtime between invocations). */
export function resetDispatchDeps() {
  deps = undefined;
}

async function recordHandler(record: SQSRecord) {
  const message = JSON.parse(record.body) as DispatchMessage;
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
  try {
    const outcomes = await processDispatch(
      message,
      receiveCount,
      await (deps ??= buildDeps().catch((err: unknown) => {
        // Not kept: a transient failure (a secret read, say) must not fail every later batch of this container.
        deps = undefined;
        throw err;
      })),
    );
    recordOutcomes(
      message.channel,
      outcomes,
      message.recipients.map((r) => r.tier),
    );
    logger.debug("dispatched", { campaignId: message.campaignId, channel: message.channel, outcomes });
  } catch (err) {
    recordOutcomes(message.channel, ["retry"]);
    logger.warn("dispatch message returned to the queue", {
      campaignId: message.campaignId,
      channel: message.channel,
      receiveCount,
      error: (err as Error).message,
    });
    throw err;
  }
}

/** One SQS-triggered worker for every channel; partial batch responses return only failed messages to the queue. */
export const handler = middy(async (event: SQSEvent) =>
  processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
    throwOnFullBatchFailure: false,
  }),
)
  .use(injectLambdaContext(logger))
  .use(loadSecret());
