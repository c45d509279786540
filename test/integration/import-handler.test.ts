import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "#functions/app.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { createImportJob, importJobProgress, loadImportJob } from "#functions/import/job.ts";
import { importJobHandler } from "#functions/import/job-handler.ts";
import { LOCAL_AWS } from "#local/aws.ts";
import { lambdaContext, startPoller } from "#local/poller.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { LOCAL_IMPORT_BUCKET, LOCAL_S3_CREDENTIALS, startS3 } from "#local/s3.ts";
import { parseConfig } from "#platform/config.ts";
import { tempDir } from "../helpers.ts";

/**
 * The import worker AWS runs (functions/import/job-handler.ts `importJobHandler`, what `handler`
 * binds to lambdaApp), on the embedded pieces: dynalite, s3rver for the bucket, fauxqs for the
 * import queue and its DLQ, and the poller that mirrors Lambda's SQS event source mapping.
 */
const AT = "2027-03-01T02:00:00.000Z";
const config = parseConfig({});
let runtime: Runtime;
let app: App;
let queueUrl = "";
let queueArn = "";
const stops: (() => Promise<void>)[] = [];

function export_(rows: number, prefix: string) {
  const lines = ["customerId,name,aum,openedAt"];
  for (let i = 1; i <= rows; i++)
    lines.push(`${prefix}${i},欧阳伟,${i % 400 === 0 ? "-1" : 1000 + i},2020-01-01`);
  return { body: `${lines.join("\n")}\n`, bad: Math.floor(rows / 400) };
}

async function uploadedJob(rows: number, prefix: string) {
  const objects = app.objects()!;
  const { job, uploadUrl } = await createImportJob(
    { repo: app.repo, objects, now: app.now },
    { format: "csv", createdBy: "mia" },
  );
  const file = export_(rows, prefix);
  const res = await fetch(uploadUrl, { method: "PUT", body: file.body });
  expect(res.status).toBe(200);
  return { jobId: job.jobId, bad: file.bad };
}

/** What Lambda's event source mapping hands the function for one received message. */
function record(m: Message): SQSRecord {
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: "us-east-1",
  };
}

async function receiveOne(): Promise<Message> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const out = await app.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    const [m] = out.Messages ?? [];
    if (m) return m;
  }
  throw new Error("no message on the import queue within 15 s");
}

async function queueDepth() {
  const out = await app.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

describe("the import worker Lambda handler, fed by SQS, on the embedded runtime", () => {
  beforeAll(async () => {
    runtime = await startRuntime({ config, at: new Date(AT) });
    stops.push(() => runtime.stop());
    const s3 = await startS3(tempDir("tiercast-s3-handler-"), LOCAL_IMPORT_BUCKET);
    stops.push(s3.stop);
    const sqsServer = await startFauxqs({ port: 0, logger: false });
    stops.push(() => sqsServer.stop());
    const sqsEndpoint = `http://127.0.0.1:${sqsServer.port}`;

    // The import queue and its DLQ, as the Imports stack declares them (a shorter visibility timeout).
    const setup = createApp(runtime.settings, { queues: { ...LOCAL_AWS, endpoint: sqsEndpoint } });
    const arnOf = async (url: string | undefined) =>
      (await setup.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] })))
        .Attributes!.QueueArn!;
    try {
      const dlq = await setup.sqs.send(new CreateQueueCommand({ QueueName: "tiercast-imports-dlq" }));
      const queue = await setup.sqs.send(
        new CreateQueueCommand({
          QueueName: "tiercast-imports",
          Attributes: {
            VisibilityTimeout: "30",
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: await arnOf(dlq.QueueUrl),
              maxReceiveCount: "5",
            }),
          },
        }),
      );
      queueUrl = queue.QueueUrl!;
      queueArn = await arnOf(queueUrl);
    } finally {
      setup.close();
    }

    // The composition root as the worker's Lambda gets it, with the embedded servers as endpoints.
    app = createApp(
      {
        ...runtime.settings,
        importBucket: LOCAL_IMPORT_BUCKET,
        s3Endpoint: s3.endpoint,
        queues: { importJobs: queueUrl },
      },
      {
        clock: runtime.clock.now,
        ddb: runtime.repo.ddb,
        auditAnchor: null,
        queues: { ...LOCAL_AWS, endpoint: sqsEndpoint },
        objectStore: { region: "us-east-1", credentials: LOCAL_S3_CREDENTIALS },
      },
    );
    stops.push(async () => app.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  it("takes a {jobId} message through the event source mapping and runs the job to the end", async () => {
    const { jobId, bad } = await uploadedJob(1200, "HS");
    await app.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId }) }),
    );
    const poller = startPoller(app.sqs, {
      queueUrl,
      queueArn,
      handler: importJobHandler(() => app),
      functionName: "tiercast-import-worker",
      batchSize: 1,
      concurrency: 1,
    });
    try {
      const deadline = Date.now() + 120_000;
      while ((await loadImportJob(app.repo, jobId)).status !== "done" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
    } finally {
      await poller.stop();
    }
    expect(await importJobProgress(app.repo, jobId)).toMatchObject({
      status: "done",
      percent: 100,
      imported: 1200 - bad,
      rejected: bad,
      runs: 1,
    });
    expect(await getCustomer(app.repo, "HS1")).toMatchObject({ name: "欧阳伟", aum: 1001 });
    expect(await getCustomer(app.repo, "HS400")).toBeUndefined(); // aum -1, rejected by line
    expect(await queueDepth()).toBe(0);
  }, 180_000);

  it("short of time, checkpoints and hands the job on with a fresh message; the next run finishes it", async () => {
    const { jobId, bad } = await uploadedJob(3000, "HT");
    await app.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId }) }),
    );
    const handler = importJobHandler(() => app);

    const first = await receiveOne();
    let calls = 0;
    // 15 minutes left, until a minute before the end after ~1,000 records.
    const runningOut = {
      ...lambdaContext("tiercast-import-worker"),
      getRemainingTimeInMillis: () => (++calls < 1000 ? 900_000 : 30_000),
    };
    const out = await handler({ Records: [record(first)] }, runningOut);
    expect(out.batchItemFailures).toEqual([]); // so the event source deletes it
    await app.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first.ReceiptHandle }));
    const cut = await loadImportJob(app.repo, jobId);
    expect(cut.status).toBe("running");
    expect(cut.offset).toBeGreaterThan(0);
    expect(cut.imported).toBeLessThan(3000 - bad);

    const next = await receiveOne();
    expect(JSON.parse(next.Body!)).toEqual({ jobId });
    expect(next.MessageId).not.toBe(first.MessageId);
    expect(next.Attributes?.ApproximateReceiveCount).toBe("1"); // a fresh message: no receive used up
    const again = await handler({ Records: [record(next)] }, lambdaContext("tiercast-import-worker"));
    expect(again.batchItemFailures).toEqual([]);
    await app.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: next.ReceiptHandle }));

    expect(await importJobProgress(app.repo, jobId)).toMatchObject({
      status: "done",
      imported: 3000 - bad,
      rejected: bad,
      runs: 2,
    });
    expect(await getCustomer(app.repo, "HT2999")).toMatchObject({ aum: 3999 });
    expect(await queueDepth()).toBe(0);
  }, 180_000);

  it("answers a repeated delivery of a finished job with success, changing nothing", async () => {
    const { jobId } = await uploadedJob(50, "HR");
    const handler = importJobHandler(() => app);
    const ctx = lambdaContext("tiercast-import-worker");
    const message = (id: string) =>
      record({ MessageId: id, ReceiptHandle: id, Body: JSON.stringify({ jobId }), Attributes: {} });
    expect((await handler({ Records: [message("m1")] }, ctx)).batchItemFailures).toEqual([]);
    const done = await importJobProgress(app.repo, jobId);
    expect((await handler({ Records: [message("m2")] }, ctx)).batchItemFailures).toEqual([]);
    expect(await importJobProgress(app.repo, jobId)).toEqual(done);
    expect(await queueDepth()).toBe(0);
  }, 120_000);
});
