import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { TABLE_ACCESS } from "../../infra/constructs/table-access.ts";
import { buildStacks } from "../../infra/stacks/index.ts";
import { testSettings } from "./settings.ts";

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Resource = { Type: string; Properties: Record<string, unknown> };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const idOf = (t: Template, type: string, prefix: string) => {
  const ids = Object.keys(t.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0]!;
};

function synth(region?: string) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const settings = testSettings("prod", region);
  const stacks = buildStacks(app, settings);
  const imports = Template.fromStack(stacks.imports);
  const api = Template.fromStack(stacks.api);
  const bucketId = idOf(imports, "AWS::S3::Bucket", "Uploads");
  const queueId = idOf(imports, "AWS::SQS::Queue", "ImportQueue");
  const dlqId = idOf(imports, "AWS::SQS::Queue", "ImportDlq");
  const keyId = idOf(imports, "AWS::KMS::Key", "ImportKey");
  const workerId = idOf(imports, "AWS::Lambda::Function", "ImportWorker");
  const worker = imports.toJSON().Resources[workerId] as Resource;
  const workerRole = (worker.Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  /** Every statement of the inline policies on a role of this template. */
  const inline = (t: Template, role: string) =>
    (Object.values(t.findResources("AWS::IAM::Policy")) as Resource[])
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  return {
    settings,
    stacks,
    imports,
    api,
    bucketId,
    queueId,
    dlqId,
    keyId,
    workerId,
    worker,
    workerRole,
    inline,
  };
}

describe.each([undefined, "cn-north-1"])("import jobs on AWS (region %s)", (region) => {
  const s = synth(region);
  const getAtt = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
  const uploads = { "Fn::Join": ["", [getAtt(s.bucketId), "/imports/*"]] };

  describe("the upload bucket", () => {
    it("is encrypted with its own customer-managed key (rotated; not the table's), with a bucket key", () => {
      s.imports.hasResourceProperties("AWS::S3::Bucket", {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: getAtt(s.keyId) },
            },
          ],
        },
      });
      s.imports.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    });

    it("blocks public access, refuses plain HTTP and logs access to a log bucket", () => {
      const bucket = s.imports.toJSON().Resources[s.bucketId] as Resource;
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: idOf(s.imports, "AWS::S3::Bucket", "AccessLogs") },
        LogFilePrefix: "s3/",
      });
      s.imports.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: s.bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "s3:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    });

    it("takes cross-origin PUTs (presigned uploads) from the console's origin only", () => {
      const bucket = s.imports.toJSON().Resources[s.bucketId] as Resource;
      expect(bucket.Properties.CorsConfiguration).toEqual({
        CorsRules: [
          {
            AllowedMethods: ["PUT"],
            AllowedOrigins: [s.settings.deployment.consoleUrl],
            AllowedHeaders: ["content-type"],
            ExposedHeaders: ["ETag"],
            MaxAge: 3600,
          },
        ],
      });
    });

    it("deletes every upload after 7 days and abandoned multipart uploads after 1", () => {
      const bucket = s.imports.toJSON().Resources[s.bucketId] as Resource;
      expect(bucket.Properties.LifecycleConfiguration).toEqual({
        Rules: [
          {
            Id: "expire-uploads",
            Status: "Enabled",
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      });
    });
  });

  describe("the import queue and its worker", () => {
    it("dead-letters a job after 5 receives, and hides a message longer than the worker may run", () => {
      const queue = s.imports.toJSON().Resources[s.queueId] as Resource;
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: getAtt(s.dlqId),
        maxReceiveCount: 5,
      });
      const timeout = s.worker.Properties.Timeout as number;
      expect(timeout).toBe(900);
      expect(queue.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
      for (const id of [s.queueId, s.dlqId])
        expect((s.imports.toJSON().Resources[id] as Resource).Properties.SqsManagedSseEnabled).toBe(true);
    });

    it("feeds the worker one job per invocation, with partial batch responses and bounded concurrency", () => {
      s.imports.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: getAtt(s.queueId),
        FunctionName: { Ref: s.workerId },
        BatchSize: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    });

    it("tells the worker its table, bucket and queue (to hand a job on to its next run)", () => {
      expect(s.worker.Properties.Environment).toEqual({
        Variables: expect.objectContaining({
          TABLE_NAME: expect.anything(),
          IMPORT_BUCKET: { Ref: s.bucketId },
          IMPORT_QUEUE_URL: { Ref: s.queueId },
        }),
      });
    });

    it("lets the worker read uploads, decrypt them, write its job and customers, and nothing more", () => {
      expect(TABLE_ACCESS.importWorker).toEqual({
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
        indexes: [],
      });
      const allowed = s.inline(s.imports, s.workerRole).filter((st) => st.Effect === "Allow");
      const on = (prefix: string) => allowed.filter((st) => actionsOf(st).some((a) => a.startsWith(prefix)));
      expect(on("s3:")).toEqual([{ Effect: "Allow", Action: "s3:GetObject", Resource: uploads }]);
      expect(on("dynamodb:").flatMap(actionsOf)).toEqual(TABLE_ACCESS.importWorker.actions);
      expect(JSON.stringify(on("dynamodb:"))).not.toContain("/index/");
      const importKey = allowed.filter(
        (st) => JSON.stringify(st.Resource) === JSON.stringify(getAtt(s.keyId)),
      );
      expect(importKey.flatMap(actionsOf)).toEqual(["kms:Decrypt"]);
      const toQueue = allowed.filter(
        (st) => JSON.stringify(st.Resource) === JSON.stringify(getAtt(s.queueId)),
      );
      // Its own re-enqueue, and what Lambda's event source needs to consume the queue.
      expect(toQueue.flatMap(actionsOf).sort()).toEqual([
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ]);
    });
  });

  describe("the API function", () => {
    const apiFn = Object.entries(s.api.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.startsWith("ApiFn"),
    )!;
    const apiRole = (apiFn[1].Properties as { Role: { "Fn::GetAtt": [string] } }).Role["Fn::GetAtt"][0];
    const exported = (v: unknown) => JSON.stringify(v);

    it("gets IMPORT_BUCKET and IMPORT_QUEUE_URL from the Imports stack", () => {
      const vars = (apiFn[1].Properties as { Environment: { Variables: Record<string, unknown> } })
        .Environment.Variables;
      expect(exported(vars.IMPORT_BUCKET)).toMatch(/Imports:ExportsOutputRefUploads/);
      expect(exported(vars.IMPORT_QUEUE_URL)).toMatch(/Imports:ExportsOutputRefImportQueue/);
    });

    it("may presign uploads under imports/, see them arrive and start a job: exactly that", () => {
      const policyId = idOf(s.imports, "AWS::IAM::ManagedPolicy", "ApiImportAccess");
      const policy = s.imports.toJSON().Resources[policyId] as Resource;
      expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toEqual([
        { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: uploads },
        { Effect: "Allow", Action: "s3:ListBucket", Resource: getAtt(s.bucketId) },
        { Effect: "Allow", Action: "kms:GenerateDataKey", Resource: getAtt(s.keyId) },
        {
          Effect: "Allow",
          Action: "sqs:SendMessage",
          Resource: [getAtt(s.queueId), getAtt(idOf(s.imports, "AWS::SQS::Queue", "DryRunQueue"))],
        },
      ]);
      const role = s.api.toJSON().Resources[apiRole] as Resource;
      expect(exported(role.Properties.ManagedPolicyArns)).toMatch(/Imports:ExportsOutputRefApiImportAccess/);
      // Nothing on the bucket or the queue besides (no delete, no wildcard, no read of the key).
      const inline = exported(s.inline(s.api, apiRole));
      expect(inline).not.toMatch(/"s3:|"sqs:|Imports:/);
    });
  });

  it("names no partition in an ARN by hand (aws-cn in China)", () => {
    const all = JSON.stringify([s.imports.toJSON(), s.api.toJSON()]);
    expect(all).not.toMatch(/arn:aws(-cn)?:(s3|sqs|kms)/);
  });
});
