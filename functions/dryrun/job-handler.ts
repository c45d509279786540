import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { DryRunTakenOverError, runDryRun } from "./job.ts";

/**
 * The dry-run worker on AWS, fed by the dry-run queue (`{"jobId"}` messages from POST
 * /api/campaigns/{id}/dry-runs, POST /api/dry-runs and each submit; batch size 1, a 15-minute
 * timeout). A run decides the whole segment and stores the result. It cannot resume mid-way (contact
 * de-duplication is held in memory): a run cut off by the timeout or a crash leaves the message to
 * come back after its visibility timeout and starts again from the first page, until maxReceiveCount
 * sends it to the DLQ (so a segment too large to decide within 15 minutes ends there, with an alarm).
 */
export function dryRunJobHandler(app: () => App) {
  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const { repo, config, secret, now } = app().base();
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const { jobId } = JSON.parse(record.body) as { jobId: string };
      try {
        const job = await runDryRun({ repo, config, secret, now }, jobId);
        logger.info("dry run", { jobId, status: job.status, recipients: job.recipientsDecided });
      } catch (err) {
        // A duplicate delivery started a later run, which now holds the job and carries it on.
        if (err instanceof DryRunTakenOverError) {
          logger.info("dry run taken over by a later run", { jobId });
          continue;
        }
        logger.error("dry run failed; it runs again from the start", { jobId, error: err as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(dryRunJobHandler(lambdaApp));
