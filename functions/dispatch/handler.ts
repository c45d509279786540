import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import type { DispatchMessage } from "#platform/queue.ts";
import { loadSecret } from "#platform/secret.ts";
import { processDispatch } from "./core.ts";

/** One SQS-triggered worker for every channel; partial batch responses return only failed messages to the queue. */
export function dispatchHandler(app: () => App) {
  async function recordHandler(record: SQSRecord) {
    const message = JSON.parse(record.body) as DispatchMessage;
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
    const { metrics } = app();
    try {
      const outcomes = await processDispatch(message, receiveCount, await app().dispatchDeps());
      metrics.recordOutcomes(
        message.channel,
        outcomes,
        message.recipients.map((r) => r.tier),
      );
      logger.debug("dispatched", { campaignId: message.campaignId, channel: message.channel, outcomes });
    } catch (err) {
      metrics.recordOutcomes(message.channel, ["retry"]);
      logger.warn("dispatch message returned to the queue", {
        campaignId: message.campaignId,
        channel: message.channel,
        receiveCount,
        error: (err as Error).message,
      });
      throw err;
    }
  }
  return middy(async (event: SQSEvent) =>
    processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
      throwOnFullBatchFailure: false,
    }),
  )
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(dispatchHandler(lambdaApp));
