import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { IMPORT_OBJECT_PREFIX } from "../../functions/import/job.ts";
import { acknowledge } from "../constructs/nag.ts";
import { ProjectFunction } from "../constructs/project-function.ts";
import { type DataRefs, dataEnvironment, grantDataAccess } from "../constructs/table-access.ts";
import type { EnvSettings } from "../settings.ts";
import { MAX_RECEIVE_COUNT } from "./messaging-stack.ts";

export interface ImportStackProps extends StackProps {
  settings: EnvSettings;
  data: DataRefs;
}

/** Lambda's longest run: a job checkpoints and hands itself on a minute before it. */
export const IMPORT_WORKER_TIMEOUT = Duration.minutes(15);
/**
 * Six times the worker's timeout, as Lambda's SQS event source guidance asks (a message a throttled
 * or retried invocation still holds must not reappear). Only a crash waits it out: a run that stops
 * on time puts a fresh message on the queue itself.
 */
export const IMPORT_VISIBILITY_TIMEOUT = Duration.minutes(IMPORT_WORKER_TIMEOUT.toMinutes() * 6);
/** Bank exports hold customers' PII: an upload is deleted this long after it arrived, done or not. */
export const IMPORT_OBJECT_EXPIRY = Duration.days(7);

/**
 * The nightly-export path on AWS (issue 16): the bucket banks PUT their files to through presigned
 * URLs (API Gateway takes at most 10 MB), the queue of import-job runs with its DLQ, and the worker
 * that streams an upload into the table (functions/import/job-handler.ts).
 */
export class ImportStack extends Stack {
  readonly bucket: s3.Bucket;
  /** Encrypts the uploads; the API encrypts with it (its presigned PUT), the worker decrypts. */
  readonly key: kms.Key;
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly worker: lambda.Function;
  /** The exact dry run as a job (issue 21): its queue, DLQ and worker, wired the way import jobs are. */
  readonly dryRunQueue: sqs.Queue;
  readonly dryRunDlq: sqs.Queue;
  readonly dryRunWorker: lambda.Function;
  /**
   * The API's rights for import jobs, attached to its role by the Api stack: presign uploads (the PUT
   * runs with the signer's rights: PutObject and the key to encrypt with), see whether a job's file
   * has arrived (HeadObject is GetObject's), and start a job's run. Here, beside what it grants on.
   */
  readonly apiPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ImportStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const autoDeleteObjects = settings.name !== "prod";

    this.key = new kms.Key(this, "ImportKey", {
      description: "Tiercast customer import uploads",
      enableKeyRotation: true,
      removalPolicy: settings.removalPolicy,
    });
    const logs = new s3.Bucket(this, "AccessLogs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // S3 server access logs can be delivered only to an SSE-S3 bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(settings.logRetentionDays) }],
      removalPolicy: settings.removalPolicy,
      autoDeleteObjects,
    });
    acknowledge(logs, "S1", "This is the access-log bucket itself.");
    this.bucket = new s3.Bucket(this, "Uploads", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket rather than a KMS request per object and ranged GET.
      bucketKeyEnabled: true,
      enforceSSL: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: "s3/",
      lifecycleRules: [
        {
          id: "expire-uploads",
          expiration: IMPORT_OBJECT_EXPIRY,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // The console PUTs the file straight to its presigned URL, from its own origin only.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT],
          allowedOrigins: [settings.deployment.consoleUrl],
          allowedHeaders: ["content-type"],
          exposedHeaders: ["ETag"],
          maxAge: 3600,
        },
      ],
      removalPolicy: settings.removalPolicy,
      autoDeleteObjects,
    });

    this.dlq = new sqs.Queue(this, "ImportDlq", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Messages carry only a job id; the job's state is in the table.
    this.queue = new sqs.Queue(this, "ImportQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: IMPORT_VISIBILITY_TIMEOUT,
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.worker = new ProjectFunction(this, "ImportWorker", {
      entry: fileURLToPath(new URL("../../functions/import/job-handler.ts", import.meta.url)),
      handler: "handler",
      settings,
      timeout: IMPORT_WORKER_TIMEOUT,
      // Parsing (CSV, GBK decoding, workbooks) is CPU-bound; Lambda's CPU grows with memory.
      memorySize: 2048,
      environment: {
        ...dataEnvironment(props.data),
        IMPORT_BUCKET: this.bucket.bucketName,
        IMPORT_QUEUE_URL: this.queue.queueUrl,
      },
      description: "Runs Tiercast import jobs: streams an uploaded bank export into the table",
    }).fn;
    grantDataAccess(this.worker, props.data, "importWorker");
    // Read the uploads (GetObject covers HeadObject), decrypt them, and hand a job on to its next run.
    this.worker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [this.bucket.arnForObjects(`${IMPORT_OBJECT_PREFIX}*`)],
      }),
    );
    this.worker.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["kms:Decrypt"], resources: [this.key.keyArn] }),
    );
    this.worker.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.queue.queueArn] }),
    );

    this.dryRunDlq = new sqs.Queue(this, "DryRunDlq", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // Messages carry only a job id; the job (definition, progress, result) is in the table.
    this.dryRunQueue = new sqs.Queue(this, "DryRunQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: IMPORT_VISIBILITY_TIMEOUT,
      deadLetterQueue: { queue: this.dryRunDlq, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.dryRunWorker = new ProjectFunction(this, "DryRunWorker", {
      entry: fileURLToPath(new URL("../../functions/dryrun/job-handler.ts", import.meta.url)),
      handler: "handler",
      settings,
      timeout: IMPORT_WORKER_TIMEOUT,
      memorySize: 1024,
      environment: { ...dataEnvironment(props.data) },
      description: "Runs Tiercast dry-run jobs: decides a whole segment, sends nothing, stores the result",
    }).fn;
    grantDataAccess(this.dryRunWorker, props.data, "dryRunWorker");
    this.dryRunWorker.addEventSource(
      new SqsEventSource(this.dryRunQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );

    const uploadsFinding = `IAM5[Resource::<${this.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${IMPORT_OBJECT_PREFIX}*]`;
    const uploadsReason =
      "Upload keys are created per import job at run time, all under the imports/ prefix.";
    acknowledge(this.worker.role!, uploadsFinding, uploadsReason);
    this.apiPolicy = new iam.ManagedPolicy(this, "ApiImportAccess", {
      description: "Tiercast API: presign import uploads, check for them, start import and dry-run jobs",
      statements: [
        new iam.PolicyStatement({
          actions: ["s3:PutObject", "s3:GetObject"],
          resources: [this.bucket.arnForObjects(`${IMPORT_OBJECT_PREFIX}*`)],
        }),
        // With ListBucket a missing upload is a 404 (the API's 409 "nothing uploaded yet"), not a 403.
        // The bucket holds nothing but uploads, whose keys are job ids.
        new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }),
        new iam.PolicyStatement({ actions: ["kms:GenerateDataKey"], resources: [this.key.keyArn] }),
        new iam.PolicyStatement({
          actions: ["sqs:SendMessage"],
          resources: [this.queue.queueArn, this.dryRunQueue.queueArn],
        }),
      ],
    });
    acknowledge(this.apiPolicy, uploadsFinding, uploadsReason);

    // One job per invocation (each may take the whole 15 minutes); two at once at most, beside the launches.
    this.worker.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
  }
}
