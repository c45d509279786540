import { randomBytes } from "node:crypto";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Channel } from "#functions/campaign/schema.ts";
import { signNameOf } from "#functions/dispatch/china-sms.ts";
import { dispatchHandler } from "#functions/dispatch/handler.ts";
import { LOCAL_AWS } from "./aws.ts";
import { type SqsHandler, startPoller } from "./poller.ts";
import type { Runtime } from "./runtime.ts";
import { type SmsFaults, type SmsSink, startSmsSink } from "./sms-sink.ts";
import { type LocalSmtp, startSmtp } from "./smtp.ts";
import { CHANNEL_QUEUES, type LocalQueues, startQueues } from "./sqs.ts";
import {
  startAliyunSmsGateway,
  startTencentSmsGateway,
  type VendorGateway,
  type VendorGatewayOptions,
} from "./vendor-sms.ts";

export interface DispatchOptions {
  smsFaults?: SmsFaults;
  /** Set false to run without workers (tests that drive the handler by hand). */
  workers?: boolean;
  concurrency?: number;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /**
   * Send SMS as AWS China does through a domestic vendor (SMS_PROVIDER=aliyun|tencent): the worker's
   * real adapter signs each request, and a local gateway speaking the vendor's protocol verifies it
   * and hands what it accepts to the sink.
   */
  smsVendor?: SmsVendorOptions;
}

export type SmsVendorOptions = Omit<VendorGatewayOptions, "clock"> & { signName: string } & (
    | { provider: "aliyun"; credentials: { accessKeyId: string; accessKeySecret: string } }
    | { provider: "tencent"; appId: string; credentials: { secretId: string; secretKey: string } }
  );

export interface DispatchServices {
  queues: LocalQueues;
  sms: SmsSink;
  /** The vendor gateway in front of the sink, when `smsVendor` was given. */
  vendor?: VendorGateway;
  smtp: LocalSmtp;
  sqs: SQSClient;
  batches: { received: number; failed: number };
  startWorkers(): void;
  stopWorkers(): Promise<void>;
}

/**
 * The embedded runtime's messaging half: SQS-compatible queues with DLQs, the SMS gateway sink, the
 * SMTP server, and pollers feeding the real channel worker. The runtime's app is re-wired with their
 * endpoints, and the worker is the real handler built on that app.
 */
const started = new WeakMap<Runtime, DispatchServices>();

/**
 * The vendor gateway SMS_PROVIDER names (`tiercast serve`, `launch`, `demo`): the worker's real adapter
 * and the gateway share keys made for this process (both ends are local; on AWS they come from Secrets
 * Manager), the registered signature is SMS_SIGN_NAME or the config's, and any template code is approved.
 */
function vendorOfRuntime(runtime: Runtime): SmsVendorOptions | undefined {
  const { provider, appId, signName: configured } = runtime.settings.sms;
  if (provider !== "aliyun" && provider !== "tencent") return undefined;
  const signName = configured ?? signNameOf(runtime.config.sms.signature);
  const key = () => randomBytes(18).toString("base64url");
  return provider === "aliyun"
    ? {
        provider,
        signName,
        signNames: [signName],
        credentials: { accessKeyId: `LTAI${key().slice(0, 20)}`, accessKeySecret: key() },
      }
    : {
        provider,
        appId: appId ?? "1400000000",
        signName,
        signNames: [signName],
        credentials: { secretId: `AKID${key()}`, secretKey: key() },
      };
}

export async function startDispatch(
  runtime: Runtime,
  options: DispatchOptions = {},
): Promise<DispatchServices> {
  const existing = started.get(runtime);
  if (existing) {
    if (options.workers !== false) existing.startWorkers();
    return existing;
  }
  const queues = await startQueues(runtime.dataDir, {
    maxReceiveCount: options.maxReceiveCount,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
  });
  runtime.stops.push(queues.stop);
  const sms = await startSmsSink(
    runtime.dataDir,
    options.smsFaults ?? runtime.settings.smsFaults,
    runtime.clock.now,
  );
  runtime.stops.push(sms.stop);
  const v = options.smsVendor ?? vendorOfRuntime(runtime);
  const gatewayOptions = v && { signNames: v.signNames, templates: v.templates, clock: runtime.clock.now };
  const vendor = !v
    ? undefined
    : v.provider === "aliyun"
      ? await startAliyunSmsGateway(sms, v.credentials, gatewayOptions)
      : await startTencentSmsGateway(sms, v.credentials, { ...gatewayOptions, appId: v.appId });
  if (vendor) runtime.stops.push(vendor.stop);
  const smtp = await startSmtp(runtime.dataDir);
  runtime.stops.push(smtp.stop);
  const app = runtime.attachMessaging({
    queues: {
      sms: queues.urls[CHANNEL_QUEUES.sms],
      email: queues.urls[CHANNEL_QUEUES.email],
      "rm-task": queues.urls[CHANNEL_QUEUES["rm-task"]],
    },
    sqsEndpoint: queues.endpoint,
    smsEndpoint: vendor?.endpoint ?? sms.endpoint,
    ...(v
      ? {
          smsVendor: {
            provider: v.provider,
            credentials: JSON.stringify(v.credentials),
            signName: v.signName,
            ...(v.provider === "tencent" ? { appId: v.appId } : {}),
          },
        }
      : {}),
    smtpUrl: smtp.url,
    maxReceiveCount: queues.maxReceiveCount,
  });
  const handler = dispatchHandler(() => app);
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: queues.endpoint, useQueueUrlAsEndpoint: false });
  const batches = { received: 0, failed: 0 };
  let pollers: { stop(): Promise<void> }[] = [];
  const services: DispatchServices = {
    queues,
    sms,
    ...(vendor ? { vendor } : {}),
    smtp,
    sqs,
    batches,
    startWorkers() {
      if (pollers.length) return;
      pollers = (Object.entries(CHANNEL_QUEUES) as [Channel, string][]).map(([channel, queue]) =>
        startPoller(sqs, {
          queueUrl: queues.urls[queue]!,
          queueArn: `arn:aws:sqs:us-east-1:000000000000:${queue}`,
          handler: handler as unknown as SqsHandler,
          functionName: `tiercast-dispatch-${channel}`,
          concurrency: options.concurrency ?? 4,
          visibilityTimeoutSeconds: queues.visibilityTimeoutSeconds,
          onBatch: (n, failed) => {
            batches.received += n;
            batches.failed += failed;
          },
        }),
      );
    },
    async stopWorkers() {
      const stopping = pollers;
      pollers = [];
      await Promise.all(stopping.map((p) => p.stop()));
    },
  };
  started.set(runtime, services);
  runtime.stops.push(async () => {
    started.delete(runtime);
    await services.stopWorkers();
    sqs.destroy();
  });
  if (options.workers !== false) services.startWorkers();
  return services;
}
