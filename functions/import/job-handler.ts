import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type App, lambdaApp } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { runImportJob } from "./job.ts";

/**
 * The import-job worker on AWS, fed by the import queue (`{"jobId"}` messages from POST
 * /api/imports/{jobId}/start). A run stops taking rows a minute before its timeout and checkpoints;
 * the message is then reported as failed, so SQS hands it back after its visibility timeout and the
 * next run resumes from the byte offset. A hard timeout ends the same way, from the last checkpoint.
 */
export function importJobHandler(app: () => App) {
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const deps = app().base();
    const objects = app().objects();
    if (!objects) throw new Error("IMPORT_BUCKET is not set");
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const { jobId } = JSON.parse(record.body) as { jobId: string };
      const job = await runImportJob({ repo: deps.repo, objects, now: deps.now }, jobId, {
        config: deps.config,
        timeLeft: () => context.getRemainingTimeInMillis(),
      });
      logger.info("import job run", {
        jobId,
        status: job.status,
        offset: job.offset,
        imported: job.imported,
        rejected: job.rejected,
      });
      if (job.status === "running") batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = importJobHandler(lambdaApp);
