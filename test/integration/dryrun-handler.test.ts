import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "#functions/app.ts";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { createDryRun, loadDryRun, loadDryRunResult } from "#functions/dryrun/job.ts";
import { dryRunJobHandler } from "#functions/dryrun/job-handler.ts";
import { LOCAL_AWS } from "#local/aws.ts";
import { startPoller } from "#local/poller.ts";
import type { Runtime } from "#local/runtime.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";

/**
 * The dry-run worker AWS runs (functions/dryrun/job-handler.ts), fed by SQS on the embedded pieces:
 * the API's deps as the composition root builds them on AWS put `{"jobId"}` on the dry-run queue
 * (fauxqs), and the poller that mirrors Lambda's event source mapping hands it to the handler.
 */
const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let app: App;
let queueUrl = "";
let queueArn = "";
const stops: (() => Promise<void>)[] = [];

describe("the dry-run worker Lambda handler, fed by SQS, on the embedded runtime", () => {
  beforeAll(async () => {
    runtime = await localBank(800, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    stops.push(() => runtime.stop());
    const sqsServer = await startFauxqs({ port: 0, logger: false });
    stops.push(() => sqsServer.stop());
    const sqsEndpoint = `http://127.0.0.1:${sqsServer.port}`;
    const setup = createApp(runtime.settings, { queues: { ...LOCAL_AWS, endpoint: sqsEndpoint } });
    try {
      const queue = await setup.sqs.send(
        new CreateQueueCommand({ QueueName: "tiercast-dry-runs", Attributes: { VisibilityTimeout: "30" } }),
      );
      queueUrl = queue.QueueUrl!;
      queueArn = (
        await setup.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
        )
      ).Attributes!.QueueArn!;
    } finally {
      setup.close();
    }
    app = createApp(
      { ...runtime.settings, queues: { dryRuns: queueUrl } },
      {
        clock: runtime.clock.now,
        ddb: runtime.repo.ddb,
        auditAnchor: null,
        queues: { ...LOCAL_AWS, endpoint: sqsEndpoint },
      },
    );
    stops.push(async () => app.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  it("the API's deps enqueue the job; the worker runs it to the end and stores the exact result", async () => {
    const deps = app.awsApiDeps(async () => undefined);
    expect(deps.startDryRun).toBeDefined();
    const campaign = parseCampaign(dormantCampaign({ campaignId: "dry-aws" }), runtime.config);
    const job = await createDryRun(app.repo, { campaign, createdBy: "mia", now: new Date(AT) });
    await deps.startDryRun!(job.jobId);
    const poller = startPoller(app.sqs, {
      queueUrl,
      queueArn,
      handler: dryRunJobHandler(() => app),
      functionName: "tiercast-dry-run-worker",
      batchSize: 1,
      concurrency: 1,
    });
    try {
      const deadline = Date.now() + 120_000;
      while ((await loadDryRun(app.repo, job.jobId)).status !== "done" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
    } finally {
      await poller.stop();
    }
    const done = await loadDryRun(app.repo, job.jobId);
    expect(done).toMatchObject({ status: "done", run: 1, tasksDone: 32, tasksTotal: 32 });
    const exact = await previewCampaign(
      runtime.repo,
      campaign,
      runtime.config,
      new Date(job.at),
      runtime.secret,
    );
    const result = await loadDryRunResult(app.repo, job.jobId);
    expect(result?.audience).toBe(exact.audience);
    expect(result?.byTier).toEqual(exact.byTier);
  }, 180_000);
});
