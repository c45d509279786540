import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  functionName: string;
  batchSize?: number;
  /** Concurrent batches in flight, like the event source mapping's maximum concurrency. */
  concurrency?: number;
  onBatch?: (size: number, failed: number) => void;
  /**
   * The queue's visibility timeout. The embedded queues use a short one so that failed messages come
   * back quickly; while a batch is being handled its visibility is extended every half timeout, so a
   * slow batch is never handed to a second worker (on AWS the timeout is far longer than a batch).
   */
  visibilityTimeoutSeconds?: number;
}

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Mirrors Lambda's SQS event source mapping: long-polls batches, invokes the handler with a real-shaped
 * event, deletes what succeeded, and leaves `batchItemFailures` (or a whole failed batch) to reappear
 * after the visibility timeout, until the queue's redrive policy moves it to the DLQ.
 */
export function startPoller(sqs: SQSClient, options: PollerOptions) {
  let running = true;
  const loops: Promise<void>[] = [];
  const loop = async () => {
    while (running) {
      let received: ReceiveMessageCommandOutput;
      try {
        received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
          }),
        );
      } catch {
        if (!running) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const messages = received.Messages ?? [];
      if (messages.length === 0) continue;
      const records: SQSRecord[] = messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? "",
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: "local",
          ApproximateFirstReceiveTimestamp:
            m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: options.queueArn,
        awsRegion: "us-east-1",
      }));
      let failedIds = new Set<string>();
      const vt = options.visibilityTimeoutSeconds;
      const heartbeat = vt
        ? setInterval(
            () => {
              sqs
                .send(
                  new ChangeMessageVisibilityBatchCommand({
                    QueueUrl: options.queueUrl,
                    Entries: records.map((r, i) => ({
                      Id: String(i),
                      ReceiptHandle: r.receiptHandle,
                      VisibilityTimeout: vt,
                    })),
                  }),
                )
                .catch(() => {});
            },
            (vt * 1000) / 2,
          )
        : undefined;
      try {
        const response = await options.handler({ Records: records }, lambdaContext(options.functionName));
        failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch {
        failedIds = new Set(records.map((r) => r.messageId));
      } finally {
        clearInterval(heartbeat);
      }
      const done = records.filter((r) => !failedIds.has(r.messageId));
      options.onBatch?.(records.length, failedIds.size);
      if (done.length > 0) {
        await sqs
          .send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
            }),
          )
          .catch(() => {});
      }
    }
  };
  for (let i = 0; i < (options.concurrency ?? 2); i++) loops.push(loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
