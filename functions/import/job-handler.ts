import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { JobTakenOverError, loadImportJob, runImportJob } from "./job.ts";

/**
 * The import-job worker on AWS, fed by the import queue (`{"jobId"}` messages from POST
 * /api/imports/{jobId}/start; batch size 1, a 15-minute timeout). A run stops taking rows a minute
 * before its timeout and checkpoints, then puts a fresh `{"jobId"}` on the queue and reports success:
 * the next run starts at once from the byte offset, and a long file never uses up the message's
 * receives. A run that made no progress, or a hard timeout or crash, leaves the message to come back
 * after its visibility timeout (from the last checkpoint), until maxReceiveCount sends it to the DLQ.
 */
export function importJobHandler(app: () => App) {
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const { repo, config, now } = app().base();
    const objects = app().objects();
    if (!objects) throw new Error("IMPORT_BUCKET is not set");
    const queueUrl = app().settings.queues.importJobs;
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      const { jobId } = JSON.parse(record.body) as { jobId: string };
      const before = await loadImportJob(repo, jobId);
      let job: Awaited<ReturnType<typeof runImportJob>>;
      try {
        job = await runImportJob({ repo, objects, now }, jobId, {
          config,
          timeLeft: () => context.getRemainingTimeInMillis(),
        });
      } catch (err) {
        // A duplicate delivery started a later run, which now holds the job and carries it on.
        if (err instanceof JobTakenOverError) {
          logger.info("import job taken over by a later run", { jobId });
          continue;
        }
        throw err;
      }
      logger.info("import job run", {
        jobId,
        status: job.status,
        offset: job.offset,
        imported: job.imported,
        rejected: job.rejected,
      });
      if (job.status !== "running") continue;
      if (queueUrl && job.nextLine > before.nextLine)
        await app().sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId }) }),
        );
      else batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(importJobHandler(lambdaApp));
