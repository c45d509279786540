import { z } from "zod";
import { parseConfig, type TiercastConfig } from "./config.ts";

const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/**
 * The functions' environment: the names CDK sets (infra/) and the embedded runtime's tunables.
 * Parsed once (readEnv), for the composition root (functions/app.ts) and the process's logger.
 */
export const Env = z.object({
  TABLE_NAME: z.string().min(1).optional(),
  /** The HMAC key: given directly, or read once per container from Secrets Manager (TIERCAST_SECRET_ARN). */
  TIERCAST_SECRET: z.string().optional(),
  TIERCAST_SECRET_ARN: z.string().optional(),
  TIERCAST_SHARDS: z.coerce.number().int().min(1).default(16),
  SMS_QUEUE_URL: z.string().optional(),
  EMAIL_QUEUE_URL: z.string().optional(),
  RM_QUEUE_URL: z.string().optional(),
  SMS_ENDPOINT: z.string().optional(),
  /**
   * Who sends SMS: `aws` (End User Messaging), `http` (the bank's gateway at SMS_ENDPOINT), or, in AWS
   * China, `aliyun` / `tencent` (SMS_ENDPOINT then overrides the vendor's endpoint). Unset: `http` when
   * SMS_ENDPOINT is set, else `aws`.
   */
  SMS_PROVIDER: z.enum(["aws", "http", "aliyun", "tencent"]).optional(),
  /** aliyun/tencent: the vendor's region (Aliyun RegionId, Tencent X-TC-Region). */
  SMS_REGION: z.string().optional(),
  /** aliyun/tencent: Secrets Manager secret with the vendor's keys (never the keys themselves). */
  SMS_SECRET_ARN: z.string().optional(),
  /** tencent: the SmsSdkAppId. */
  SMS_APP_ID: z.string().optional(),
  /** aliyun/tencent: the registered signature; by default the config's sms.signature without 【】. */
  SMS_SIGN_NAME: z.string().optional(),
  SMS_TIMEOUT_MS: ms(5000),
  SMTP_URL: z.string().optional(),
  /** AWS China: the bank IdP the OIDC authorizer verifies API tokens against. */
  OIDC_ISSUER: z.string().optional(),
  OIDC_AUDIENCE: z.string().optional(),
  OIDC_JWKS_URI: z.string().optional(),
  /** AWS China: Secrets Manager secret with the SMTP relay's {"username","password"}. */
  SMTP_SECRET_ARN: z.string().optional(),
  SES_FROM: z.string().optional(),
  SMS_ORIGINATION: z.string().optional(),
  /** Configuration sets whose event destinations feed delivery receipts back through SQS (AWS). */
  SMS_CONFIGURATION_SET: z.string().optional(),
  SES_CONFIGURATION_SET: z.string().optional(),
  /** The AuditWriter function the API, scheduler and Finalize append through (AWS); unset: in process. */
  AUDIT_WRITER_FUNCTION: z.string().optional(),
  /** Launch state machine (API and scheduler start executions on AWS). */
  STATE_MACHINE_ARN: z.string().optional(),
  /** EventBridge Scheduler group and the role it assumes to invoke the scheduler function. */
  SCHEDULE_GROUP: z.string().optional(),
  SCHEDULER_ROLE_ARN: z.string().optional(),
  SCHEDULER_FUNCTION_ARN: z.string().optional(),
  /** Write a messageId → recipient pointer per SMS so two-way replies (which carry only the messageId) find their send. */
  SMS_REPLY_POINTERS: z.enum(["true", "false"]).default("false"),
  TIERCAST_CONFIG: z.string().optional(),
  /**
   * On AWS: the SSM parameters (comma-separated names) holding the deploy-time settings CDK wrote from
   * the typed deployment config; read at the first invocation (functions/platform/parameters.ts).
   */
  TIERCAST_PARAMETERS: z.string().optional(),
  /** Nightly-export imports: the bucket banks upload to (presigned PUT) and the queue of import-job runs. */
  IMPORT_BUCKET: z.string().optional(),
  IMPORT_QUEUE_URL: z.string().optional(),
  /** The queue of dry-run jobs (the exact dry run the approver reads, issue 21). */
  DRYRUN_QUEUE_URL: z.string().optional(),
  /** Set only where S3 is a local server: it has no per-bucket host names, so path-style addressing. */
  AWS_ENDPOINT_URL_S3: z.string().optional(),
  MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).default(5),
  /** The channel worker's maximum concurrency: each container paces itself to its share of the provider's rate. */
  SEND_CONCURRENCY: z.coerce.number().int().min(1).default(1),
  /** The first delay (seconds) before a throttled recipient is tried again; it doubles per attempt. */
  THROTTLE_DELAY_S: z.coerce.number().min(0).max(900).default(5),
  /** Unset: the runtime's own default (TUNABLE_DEFAULTS, or the embedded runtime's shorter ones). */
  LEASE_MS: z.coerce.number().int().min(0).optional(),
  SWEEP_AFTER_MS: z.coerce.number().int().min(0).optional(),
  /** Starts the clock at this instant (then it runs on); the embedded runtime passes a clock instead. */
  TIERCAST_CLOCK_AT: z.iso.datetime({ offset: true }).optional(),
  /** Embedded runtime fault drills: `decidePage=2,awaitDispatch=1` fails those workflow tasks that many times. */
  TIERCAST_TASK_FAULTS: z.string().default(""),
  /** Embedded runtime fault drills: the SMS sink's faults as JSON (`{"failRate":0.1}`). */
  TIERCAST_SMS_FAULTS: z.string().optional(),
  TIERCAST_LOG_LEVEL: z.string().optional(),
  POWERTOOLS_LOG_LEVEL: z.string().optional(),
});
export type Env = z.infer<typeof Env>;

let parsed: Env | undefined;
/**
 * The process's environment, parsed once: the only place under functions/ that reads it. Here rather
 * than in app.ts because the logger's level is fixed when it is constructed, before any app exists.
 */
export function readEnv(): Env {
  parsed ??= Env.parse(process.env);
  return parsed;
}

/** Fault injection for the embedded SMS gateway: probabilities per request. */
export const SmsFaults = z.object({
  failRate: z.number().min(0).max(1).optional(),
  throttleRate: z.number().min(0).max(1).optional(),
  timeoutRate: z.number().min(0).max(1).optional(),
  slowMs: z.number().min(0).optional(),
  seed: z.number().optional(),
  /**
   * The share of recipients (chosen by a hash of the send's tag, the same on every try) whose every
   * call answers 500 until the faults are lifted: sends that exhaust their receives whatever the timing.
   */
  stuckRate: z.number().min(0).max(1).optional(),
});
export type SmsFaults = z.infer<typeof SmsFaults>;

export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT" | "CRITICAL" | "TRACE";

/** How long things may take and how often they are tried: what an operator tunes, on either runtime. */
export interface Tunables {
  smsTimeoutMs: number;
  maxReceiveCount: number;
  /** How many worker containers of a channel may run at once (the provider rate is shared among them). */
  sendConcurrency: number;
  throttleDelaySeconds: number;
  /** How long a claimed send may stay attempted before another worker may take it over. */
  leaseMs: number;
  /** How long the in-flight set may stay unchanged before stale rows are swept. */
  sweepAfterMs: number;
  /** Workflow task → how many invocations fail (embedded runtime drills). */
  taskFaults: Record<string, number>;
  smsFaults: SmsFaults;
  logLevel: LogLevel;
}

/** Everything the composition root needs; read from the environment on AWS, given directly by the embedded runtime. */
export interface Settings extends Tunables {
  tableName: string;
  /** Indexes the table lacks (an embedded data dir made before them: dynalite cannot add an index). */
  missingIndexes?: string[];
  /**
   * The store's transactions cost no more than their items and wait for each other instead of
   * conflicting, while each request costs more than an item (the embedded store): a message's claims,
   * contact slots, settlements and counter additions, and a launch page's contact claims, go in
   * transactions. On DynamoDB a transactional write costs twice its items' write units and conflicts
   * on hot items, so there they stay single conditional writes (the cost per message is the bound).
   */
  batchedWrites?: boolean;
  config: TiercastConfig;
  secret?: string;
  secretArn?: string;
  queues: { sms?: string; email?: string; "rm-task"?: string; importJobs?: string; dryRuns?: string };
  sms: {
    endpoint?: string;
    origination?: string;
    configurationSet?: string;
    replyPointers: boolean;
    /** Unset: `http` when `endpoint` is set, else `aws`. */
    provider?: "aws" | "http" | "aliyun" | "tencent";
    region?: string;
    secretArn?: string;
    appId?: string;
    signName?: string;
    /** The vendor secret's JSON given directly (embedded runtime only; on AWS it is read by `secretArn`). */
    credentials?: string;
  };
  email: { smtpUrl?: string; smtpSecretArn?: string; sesFrom?: string; configurationSet?: string };
  stateMachineArn?: string;
  /** The AuditWriter function's name or ARN: appends go through it (AWS); unset, they run in process. */
  auditWriterFunction?: string;
  scheduler: { group?: string; roleArn?: string; functionArn?: string };
  importBucket?: string;
  s3Endpoint?: string;
  /** ISO instant the clock starts at (then runs on). */
  clockAt?: string;
  /** Whether send and funnel metrics go out as CloudWatch EMF (nothing reads them on the embedded runtime). */
  metrics: boolean;
}

function taskFaults(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of raw.split(",").filter(Boolean)) {
    const [task, n] = f.split("=");
    out[task!] = Number(n ?? 1);
  }
  return out;
}

function smsFaults(raw: string | undefined): SmsFaults {
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('TIERCAST_SMS_FAULTS must be JSON, e.g. {"failRate":0.1}');
  }
  return SmsFaults.parse(json);
}

export const logLevelOf = (e: Env) =>
  (e.TIERCAST_LOG_LEVEL ?? e.POWERTOOLS_LOG_LEVEL ?? "INFO").toUpperCase() as LogLevel;

/** On AWS: a Lambda may run for minutes, and a launch's sweep waits for a slow fleet of workers. */
export const TUNABLE_DEFAULTS = { leaseMs: 120_000, sweepAfterMs: 60_000 };

export function tunablesFrom(e: Env, defaults: typeof TUNABLE_DEFAULTS = TUNABLE_DEFAULTS): Tunables {
  return {
    smsTimeoutMs: e.SMS_TIMEOUT_MS,
    maxReceiveCount: e.MAX_RECEIVE_COUNT,
    sendConcurrency: e.SEND_CONCURRENCY,
    throttleDelaySeconds: e.THROTTLE_DELAY_S,
    leaseMs: e.LEASE_MS ?? defaults.leaseMs,
    sweepAfterMs: e.SWEEP_AFTER_MS ?? defaults.sweepAfterMs,
    taskFaults: taskFaults(e.TIERCAST_TASK_FAULTS),
    smsFaults: smsFaults(e.TIERCAST_SMS_FAULTS),
    logLevel: logLevelOf(e),
  };
}

/** The settings a Lambda function runs with: its environment, as CDK set it. */
export function settingsFrom(e: Env): Settings {
  if (!e.TABLE_NAME) throw new Error("TABLE_NAME is not set");
  return {
    ...tunablesFrom(e),
    tableName: e.TABLE_NAME,
    config: parseConfig(e.TIERCAST_CONFIG ? JSON.parse(e.TIERCAST_CONFIG) : {}, "TIERCAST_CONFIG"),
    secret: e.TIERCAST_SECRET || undefined,
    secretArn: e.TIERCAST_SECRET_ARN,
    queues: {
      sms: e.SMS_QUEUE_URL,
      email: e.EMAIL_QUEUE_URL,
      "rm-task": e.RM_QUEUE_URL,
      importJobs: e.IMPORT_QUEUE_URL,
      dryRuns: e.DRYRUN_QUEUE_URL,
    },
    sms: {
      endpoint: e.SMS_ENDPOINT,
      origination: e.SMS_ORIGINATION,
      configurationSet: e.SMS_CONFIGURATION_SET,
      replyPointers: e.SMS_REPLY_POINTERS === "true",
      provider: e.SMS_PROVIDER,
      region: e.SMS_REGION,
      secretArn: e.SMS_SECRET_ARN,
      appId: e.SMS_APP_ID,
      signName: e.SMS_SIGN_NAME,
    },
    email: {
      smtpUrl: e.SMTP_URL,
      smtpSecretArn: e.SMTP_SECRET_ARN,
      sesFrom: e.SES_FROM,
      configurationSet: e.SES_CONFIGURATION_SET,
    },
    stateMachineArn: e.STATE_MACHINE_ARN,
    auditWriterFunction: e.AUDIT_WRITER_FUNCTION,
    scheduler: {
      group: e.SCHEDULE_GROUP,
      roleArn: e.SCHEDULER_ROLE_ARN,
      functionArn: e.SCHEDULER_FUNCTION_ARN,
    },
    importBucket: e.IMPORT_BUCKET,
    s3Endpoint: e.AWS_ENDPOINT_URL_S3,
    clockAt: e.TIERCAST_CLOCK_AT,
    metrics: true,
  };
}
