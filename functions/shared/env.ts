import { z } from "zod";

/** Handler environment, parsed once on first use. Same names on AWS (set by CDK) and locally. */
const Env = z.object({
  TABLE_NAME: z.string().min(1),
  TIERCAST_SECRET: z.string().min(16, "TIERCAST_SECRET (or TIERCAST_SECRET_ARN) must be set"),
  TIERCAST_SHARDS: z.coerce.number().int().min(1).default(16),
  SMS_QUEUE_URL: z.string().optional(),
  EMAIL_QUEUE_URL: z.string().optional(),
  RM_QUEUE_URL: z.string().optional(),
  SMS_ENDPOINT: z.string().optional(),
  SMTP_URL: z.string().optional(),
  /** AWS China: Secrets Manager secret with the SMTP relay's {"username","password"}. */
  SMTP_SECRET_ARN: z.string().optional(),
  SES_FROM: z.string().optional(),
  SMS_ORIGINATION: z.string().optional(),
  /** Configuration sets whose event destinations feed delivery receipts back through SQS (AWS). */
  SMS_CONFIGURATION_SET: z.string().optional(),
  SES_CONFIGURATION_SET: z.string().optional(),
  /** Launch state machine (API and scheduler start executions on AWS). */
  STATE_MACHINE_ARN: z.string().optional(),
  /** EventBridge Scheduler group and the role it assumes to invoke the scheduler function. */
  SCHEDULE_GROUP: z.string().optional(),
  SCHEDULER_ROLE_ARN: z.string().optional(),
  SCHEDULER_FUNCTION_ARN: z.string().optional(),
  /** Write a messageId → recipient pointer per SMS so two-way replies (which carry only the messageId) find their send. */
  SMS_REPLY_POINTERS: z.enum(["true", "false"]).default("false"),
  TIERCAST_CONFIG: z.string().optional(),
  /** Nightly-export imports: the bucket banks upload to (presigned PUT) and the queue of import-job runs. */
  IMPORT_BUCKET: z.string().optional(),
  IMPORT_QUEUE_URL: z.string().optional(),
});
export type Env = z.infer<typeof Env>;

let cached: Env | undefined;
export function env(): Env {
  cached ??= Env.parse(process.env);
  return cached;
}
export function resetEnv(): void {
  cached = undefined;
}
