import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ApiDeps } from "#functions/api/http.ts";
import { logAnchor } from "#functions/audit/anchor.ts";
import type { AuditAnchor, AuditDeps } from "#functions/audit/store.ts";
import { lambdaAuditWriter } from "#functions/audit/writer.ts";
import type { Channel } from "#functions/campaign/schema.ts";
import { getCustomer } from "#functions/customers/store.ts";
import {
  signNameOf,
  type VendorLookup,
  vendorSmsLookup,
  vendorSmsProvider,
} from "#functions/dispatch/china-sms.ts";
import { type DispatchDeps, type Provider, pacer, writeMessagePointer } from "#functions/dispatch/core.ts";
import {
  awsSmsProvider,
  httpSmsLookup,
  httpSmsProvider,
  sesProvider,
  smtpProvider,
} from "#functions/dispatch/providers.ts";
import { s3Client, s3Objects } from "#functions/import/objects.ts";
import type { LaunchDeps } from "#functions/launch/core.ts";
import { eventBridgeSchedules } from "#functions/schedules/eventbridge.ts";
import { rmTaskProvider } from "#functions/tasks/provider.ts";
import { startExecution } from "#platform/aws-launch.ts";
import { type ClientOptions, documentClient, sqsClient } from "#platform/clients.ts";
import { type Clock, settableClock } from "#platform/clock.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { Env, readEnv, type Settings, settingsFrom, type Tunables, tunablesFrom } from "#platform/env.ts";
import { cloudWatchMetrics, noMetrics, type SendMetrics } from "#platform/metrics.ts";
import { type ParameterSource, parameterNames, ssmParameters } from "#platform/parameters.ts";
import { type DispatchMessage, enqueue } from "#platform/queue.ts";
import { Repo } from "#platform/repo.ts";
import { type SecretSource, secretSource } from "#platform/secret.ts";

/**
 * The composition root: the one place that reads the environment and the one place that wires stores,
 * queues, providers, the secret and the clock into what the handlers' cores take. On AWS a handler
 * gets `lambdaApp()` (its function's environment, read once per container); the embedded runtime
 * calls `createApp` with its own settings, local endpoints and clock.
 */

/** The operator's tunables (timeouts, leases, fault drills, log level), from the environment. */
export const readTunables = (defaults?: Parameters<typeof tunablesFrom>[1]): Tunables =>
  tunablesFrom(readEnv(), defaults);

/** Who the embedded runtime sends SMS through (SMS_PROVIDER, SMS_APP_ID, SMS_SIGN_NAME), from the environment. */
export const readSmsChoice = (): Pick<Settings["sms"], "provider" | "appId" | "signName"> => {
  const e = readEnv();
  return {
    ...(e.SMS_PROVIDER ? { provider: e.SMS_PROVIDER } : {}),
    ...(e.SMS_APP_ID ? { appId: e.SMS_APP_ID } : {}),
    ...(e.SMS_SIGN_NAME ? { signName: e.SMS_SIGN_NAME } : {}),
  };
};

/** What `base()` gives every core: the store, the bank's config, the key, the clock and the queues. */
export interface BaseDeps {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: Clock;
  enqueue: (channel: Channel, messages: DispatchMessage[]) => Promise<void>;
}

export interface App {
  settings: Settings;
  config: TiercastConfig;
  now: Clock;
  repo: Repo;
  sqs: SQSClient;
  secret: SecretSource;
  metrics: SendMetrics;
  queueUrl(channel: Channel): string;
  base(): BaseDeps;
  launchDeps(): LaunchDeps;
  /** What appending to the audit trail needs: the store, the key and the anchor. */
  auditDeps(): BaseDeps & AuditDeps;
  /** Built once per app: its providers hold connection pools. */
  dispatchDeps(): Promise<DispatchDeps>;
  /** The API's deps on AWS (Cognito's claims authenticate; Step Functions, EventBridge and S3 behind it). */
  awsApiDeps(authenticate: ApiDeps["authenticate"]): ApiDeps;
  startLaunch(campaignId: string, version: number, at: string): Promise<{ executionId: string }>;
  syncSchedule(scheduleId: string, cron: string | undefined): Promise<void>;
  /** The import bucket's objects, when this deployment has one. */
  objects(): ReturnType<typeof s3Objects> | undefined;
  close(): void;
}

export interface AppOptions {
  /** The runtime's clock; by default the system clock (from `settings.clockAt` when set). */
  clock?: Clock;
  /** Where the store and the queues are (the embedded runtime's servers); the SDK's defaults otherwise. */
  store?: ClientOptions;
  queues?: ClientOptions;
  /** The import bucket's region and credentials (the embedded runtime's S3 server); its endpoint is `settings.s3Endpoint`. */
  objectStore?: Omit<ClientOptions, "endpoint">;
  /** An existing store client to share (the embedded runtime keeps one across its phases). */
  ddb?: DynamoDBDocumentClient;
  /** Where new audit heads are anchored outside the table: CloudWatch Logs on AWS (the default), a file locally. */
  auditAnchor?: AuditAnchor | null;
}

export function createApp(settings: Settings, options: AppOptions = {}): App {
  const smsKind = settings.sms.provider ?? (settings.sms.endpoint ? "http" : "aws");
  // Where this process sends through a domestic vendor, the campaigns it validates need template codes.
  const config: TiercastConfig =
    (smsKind === "aliyun" || smsKind === "tencent") && !settings.config.sms.vendor
      ? { ...settings.config, sms: { ...settings.config.sms, vendor: smsKind } }
      : settings.config;
  const now = options.clock ?? settableClock(settings.clockAt).now;
  const ddb = options.ddb ?? documentClient(options.store);
  const sqs = sqsClient(options.queues);
  const repo = new Repo(
    ddb,
    settings.tableName,
    new Set(settings.missingIndexes ?? []),
    settings.batchedWrites,
  );
  const secret = secretSource(settings);
  let dispatch: Promise<DispatchDeps> | undefined;
  const auditAnchor = options.auditAnchor === undefined ? logAnchor : (options.auditAnchor ?? undefined);
  // On AWS the API, the scheduler and Finalize append through the AuditWriter function; it (and the
  // embedded runtime) append in process. The anchor is then the writer's log.
  const auditWriter = settings.auditWriterFunction
    ? lambdaAuditWriter(settings.auditWriterFunction)
    : undefined;
  const auditPort = {
    ...(auditAnchor ? { auditAnchor } : {}),
    ...(auditWriter ? { auditWriter } : {}),
  };

  const queueUrl = (channel: Channel) => {
    const url = settings.queues[channel];
    if (!url) throw new Error(`no queue configured for ${channel}`);
    return url;
  };
  const base = (): BaseDeps => ({
    repo,
    config,
    secret: secret.get(),
    now,
    enqueue: (channel, messages) => enqueue(sqs, queueUrl(channel), messages),
  });
  const smsLookup =
    smsKind === "http" && settings.sms.endpoint ? httpSmsLookup(settings.sms.endpoint) : undefined;

  /** The SMTP relay's credentials (AWS China), kept in Secrets Manager rather than in any variable. */
  async function smtpAuth(secretArn: string | undefined) {
    if (!secretArn) return undefined;
    const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
    const value = JSON.parse(out.SecretString ?? "{}") as { username?: string; password?: string };
    if (!value.username || !value.password)
      throw new Error("the SMTP relay secret needs username and password");
    return { user: value.username, pass: value.password };
  }

  /** A secret's string by ARN (the SMS vendor's keys in AWS China), read when first needed. */
  async function secretString(secretArn: string | undefined, what: string) {
    if (!secretArn) throw new Error(`${what}: no secret ARN configured`);
    const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!out.SecretString) throw new Error(`${what}: the secret is empty`);
    return out.SecretString;
  }

  /** The domestic vendor's settings (SMS_PROVIDER=aliyun|tencent): its endpoint, app, signature and keys. */
  function vendorSettings() {
    const { sms } = settings;
    const credentials = sms.credentials;
    return {
      endpoint: sms.endpoint,
      region: sms.region,
      appId: sms.appId,
      signName: sms.signName ?? signNameOf(config.sms.signature),
      timeoutMs: settings.smsTimeoutMs,
      now,
      readSecret: credentials ? async () => credentials : () => secretString(sms.secretArn, "the SMS secret"),
    };
  }

  async function smsProvider(): Promise<Provider> {
    const { sms } = settings;
    if (smsKind === "http") {
      if (!sms.endpoint) throw new Error("SMS_PROVIDER=http needs SMS_ENDPOINT");
      return httpSmsProvider(sms.endpoint, settings.smsTimeoutMs);
    }
    if (smsKind === "aws") return awsSmsProvider(sms.origination, sms.configurationSet);
    return vendorSmsProvider(smsKind, vendorSettings());
  }

  // A vendor's query API is asked by number and day: the number is the customer's, read when asked.
  let vendorLookup: VendorLookup | undefined;
  const askVendor = async (sendKey: string, attempt: { customerId: string; at: Date }) => {
    if (smsKind !== "aliyun" && smsKind !== "tencent") return undefined;
    vendorLookup ??= vendorSmsLookup(smsKind, vendorSettings());
    const to = (await getCustomer(repo, attempt.customerId))?.phone;
    const found = to ? await vendorLookup(sendKey, { to, at: attempt.at }) : undefined;
    // Tencent's later status callback names the SerialNo found here: point it at the send.
    if (found?.received && smsKind === "tencent") {
      const [campaignId] = sendKey.split("#");
      await writeMessagePointer(repo, found.messageId, campaignId!, attempt.customerId, attempt.at);
    }
    return found;
  };

  async function buildDispatchDeps(): Promise<DispatchDeps> {
    const { email } = settings;
    const providers: Partial<Record<Channel, Provider>> = {
      sms: await smsProvider(),
      email: email.smtpUrl
        ? await smtpProvider(email.smtpUrl, config.email.from, await smtpAuth(email.smtpSecretArn))
        : await sesProvider(email.sesFrom ?? config.email.from, email.configurationSet),
      "rm-task": rmTaskProvider(repo, config, now),
    };
    return {
      ...base(),
      providers,
      maxReceiveCount: settings.maxReceiveCount,
      leaseMs: settings.leaseMs,
      // Tencent's status callback names only the SerialNo: a pointer per send finds its row.
      messagePointers: settings.sms.replyPointers || smsKind === "tencent",
      // The rate is the provider account's: each of the worker's concurrent containers takes its share.
      pace: pacer({
        sms: config.sms.ratePerSecond / settings.sendConcurrency,
        email: config.email.ratePerSecond / settings.sendConcurrency,
      }),
      throttleDelaySeconds: settings.throttleDelaySeconds,
      enqueueLater: (channel, messages, delaySeconds) =>
        enqueue(sqs, queueUrl(channel), messages, { delaySeconds }),
    };
  }

  let objects: ReturnType<typeof s3Objects> | undefined;
  const app: App = {
    settings: config === settings.config ? settings : { ...settings, config },
    config,
    now,
    repo,
    sqs,
    secret,
    metrics: settings.metrics ? cloudWatchMetrics : noMetrics,
    queueUrl,
    base,
    auditDeps: () => ({ ...base(), ...auditPort }),
    launchDeps: () => ({
      ...base(),
      sweepAfterMs: settings.sweepAfterMs,
      // RM tasks are written idempotently, so one whose outcome is unknown is simply written again.
      // SMS is asked of the gateway's or the domestic vendor's own record; on AWS global, SMS and email
      // unknowns are reconciled by their delivery receipts instead.
      lookup: async (channel, sendKey, attempt) =>
        channel === "rm-task"
          ? { received: false }
          : channel === "sms"
            ? smsLookup
              ? smsLookup(sendKey)
              : askVendor(sendKey, attempt)
            : undefined,
    }),
    dispatchDeps: () => {
      dispatch ??= buildDispatchDeps().catch((err: unknown) => {
        dispatch = undefined;
        throw err;
      });
      return dispatch;
    },
    startLaunch: (campaignId, version, at) =>
      startExecution(settings.stateMachineArn, campaignId, version, at),
    syncSchedule: eventBridgeSchedules(settings.scheduler, config.quietHours.timeZone),
    objects() {
      if (!settings.importBucket) return undefined;
      objects ??= s3Objects(settings.importBucket, s3Client(settings.s3Endpoint, options.objectStore));
      return objects;
    },
    awsApiDeps(authenticate) {
      const { repo, config, secret, now } = base();
      const importQueue = settings.queues.importJobs;
      const dryRunQueue = settings.queues.dryRuns;
      const objects = app.objects();
      return {
        repo,
        config,
        secret,
        now,
        authenticate,
        startLaunch: app.startLaunch,
        syncSchedule: app.syncSchedule,
        ...auditPort,
        ...(objects ? { objects } : {}),
        ...(dryRunQueue
          ? {
              async startDryRun(jobId: string) {
                await sqs.send(
                  new SendMessageCommand({ QueueUrl: dryRunQueue, MessageBody: JSON.stringify({ jobId }) }),
                );
              },
            }
          : {}),
        ...(objects && importQueue
          ? {
              async startImportJob(jobId: string) {
                await sqs.send(
                  new SendMessageCommand({ QueueUrl: importQueue, MessageBody: JSON.stringify({ jobId }) }),
                );
              },
            }
          : {}),
      };
    },
    close() {
      if (!options.ddb) ddb.destroy();
      sqs.destroy();
    },
  };
  return app;
}

/**
 * A function's settings on AWS: its environment (resource names and ARNs CDK set) with the deploy-time
 * settings from the SSM parameters it names (TIERCAST_PARAMETERS) over it. A parameter's value wins:
 * it is what the typed deployment config says, and nobody sets those names by hand.
 */
export async function lambdaSettings(env: Env, parameters: ParameterSource | undefined): Promise<Settings> {
  if (!parameters) return settingsFrom(env);
  return settingsFrom(Env.parse({ ...env, ...(await parameters.load()) }));
}

let lambda: App | undefined;
let lambdaParameters: ParameterSource | undefined;
let loading: Promise<App> | undefined;

/**
 * Builds the function's app before its handler runs: once per container; a failed read of the
 * parameters is not kept, so the next invocation tries again.
 */
export function loadLambdaApp(): Promise<App> {
  if (lambda) return Promise.resolve(lambda);
  loading ??= (async () => {
    const env = readEnv();
    const names = parameterNames(env.TIERCAST_PARAMETERS);
    if (names.length) lambdaParameters ??= ssmParameters(names);
    lambda = createApp(await lambdaSettings(env, lambdaParameters));
    return lambda;
  })().finally(() => {
    loading = undefined;
  });
  return loading;
}

/** The app of a Lambda function (built by `onAws` before the handler runs). */
export function lambdaApp(): App {
  if (lambda) return lambda;
  // Without parameters (a function CDK gave none) the environment is everything: build it now.
  const env = readEnv();
  if (parameterNames(env.TIERCAST_PARAMETERS).length)
    throw new Error("the deploy-time settings are not loaded: wrap the handler in onAws()");
  lambda = createApp(settingsFrom(env));
  return lambda;
}

/** A Lambda entry point: loads the deploy-time settings (once per container), then runs the handler. */
export function onAws<E, C, R>(handler: (event: E, context: C) => Promise<R>) {
  return async (event: E, context: C): Promise<R> => {
    await loadLambdaApp();
    return handler(event, context);
  };
}
