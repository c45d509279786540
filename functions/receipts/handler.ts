import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { eventDepsOf } from "#functions/events/core.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { ingestReceipt } from "./core.ts";

/** Delivery receipts, opens, clicks, complaints and SMS replies from SES and End User Messaging (SNS → SQS). */
export function receiptsHandler(app: () => App) {
  async function recordHandler(record: SQSRecord) {
    const base = app().base();
    const receivedAt = new Date(Number(record.attributes.SentTimestamp ?? Date.now())).toISOString();
    const result = await ingestReceipt(record.body, eventDepsOf(base), receivedAt);
    const outcome = result?.outcome;
    if (outcome?.status === "rejected") logger.warn("receipt rejected", { error: outcome.error });
    if (outcome?.status === "accepted" && outcome.stage)
      app().metrics.recordStage(outcome.stage, result?.event.channel);
  }
  return middy(async (event: SQSEvent) =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
      throwOnFullBatchFailure: false,
    }),
  )
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(receiptsHandler(lambdaApp));
