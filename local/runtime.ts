import { Console } from "node:console";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type App, createApp, readSmsChoice, readTunables } from "#functions/app.ts";
import { documentClient } from "#platform/clients.ts";
import { type SettableClock, settableClock } from "#platform/clock.ts";
import type { TiercastConfig } from "#platform/config.ts";
import type { Settings, Tunables } from "#platform/env.ts";
import { UsageError } from "#platform/errors.ts";
import { logger } from "#platform/logger.ts";
import type { Repo } from "#platform/repo.ts";
import { localAuditAnchor } from "./audit-anchor.ts";
import { LOCAL_AWS } from "./aws.ts";
import { ensureTable, repairIndexes, startDynamo } from "./dynamo.ts";
import { lockDataDir } from "./lock.ts";
import { AWS_WORKFLOW_LIMITS, type WorkflowLimits } from "./sfn.ts";

export const TABLE_NAME = "tiercast";

/** One local process: a crashed worker's lease and a stalled launch are noticed within seconds. */
const LOCAL_DEFAULTS = { leaseMs: 30_000, sweepAfterMs: 3_000 };

export interface RuntimeOptions {
  /** On-disk state lives here; omit for an in-memory runtime (tests). */
  dataDir?: string;
  config: TiercastConfig;
  at?: Date;
  /** Overrides of the operator's tunables (which otherwise come from the environment, read by the root). */
  settings?: Partial<Tunables>;
  /** Step Functions' quotas the launch workflow is held to (AWS's by default; lower in tests). */
  workflowLimits?: Partial<WorkflowLimits>;
  /**
   * Who SMS goes through (SMS_PROVIDER=http|aliyun|tencent, SMS_APP_ID, SMS_SIGN_NAME; from the
   * environment by default): `aliyun`/`tencent` put that vendor's verifying gateway in front of the sink.
   */
  sms?: Pick<Settings["sms"], "provider" | "appId" | "signName">;
}

/** Where the messaging half (local/dispatch.ts) listens, once it has started. */
export interface LocalMessaging {
  queues: Settings["queues"];
  sqsEndpoint: string;
  smsEndpoint: string;
  /** A domestic vendor's gateway in front of the sink (SMS_PROVIDER=aliyun|tencent): who, and its keys. */
  smsVendor?: Pick<Settings["sms"], "provider" | "credentials" | "signName" | "appId">;
  smtpUrl: string;
  maxReceiveCount: number;
}

export interface Runtime {
  config: TiercastConfig;
  dataDir?: string;
  repo: Repo;
  /** The HMAC key of this data dir. */
  secret: string;
  /** The runtime's clock: `--at`, moved by tests and the demo. */
  clock: SettableClock;
  settings: Settings;
  /** The composition root's app on this runtime's servers; rebuilt when the messaging half starts. */
  app: App;
  /** Re-wires the app with the queues, SMS gateway and SMTP server (local/dispatch.ts). */
  attachMessaging(messaging: LocalMessaging): App;
  stops: (() => Promise<void>)[];
  stop(): Promise<void>;
  /** Step Functions' quotas (history events, payload bytes) every local execution is held to. */
  workflowLimits: WorkflowLimits;
}

/**
 * Starts the embedded runtime's servers on 127.0.0.1 and calls the composition root with their
 * endpoints and the runtime's clock, so handlers run unchanged and nothing goes through the environment.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  routeLogsToStderr();
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const stops: (() => Promise<void>)[] = [];
  let ddb: DynamoDBDocumentClient | undefined;
  const apps: App[] = [];
  const stopAll = async () => {
    for (const app of apps.splice(0)) app.close();
    ddb?.destroy();
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    if (dataDir) {
      const unlock = await lockDataDir(dataDir);
      stops.push(async () => unlock());
    }
    const dynamo = await startDynamo(dataDir);
    stops.push(dynamo.stop);
    const missingIndexes = await ensureTable(dynamo.endpoint, TABLE_NAME);
    if (missingIndexes.length)
      logger.warn("this data dir predates some indexes; segments that use them page their tiers instead", {
        missingIndexes,
      });
    if (dynamo.dirty) {
      const repaired = await repairIndexes(dynamo.endpoint, TABLE_NAME, missingIndexes);
      if (repaired) logger.warn("store indexes repaired after an unclean stop", { repaired });
    }
    ddb = documentClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
    const store = ddb;
    const clock = settableClock(options.at);
    const sms = options.sms ?? readSmsChoice();
    if (sms.provider === "aws")
      throw new UsageError(
        "SMS_PROVIDER=aws sends through End User Messaging, which the embedded runtime has no stand-in for: use http (the local gateway), aliyun or tencent",
      );
    const settings: Settings = {
      ...readTunables(LOCAL_DEFAULTS),
      ...options.settings,
      tableName: TABLE_NAME,
      missingIndexes,
      batchedWrites: true,
      config: options.config,
      secret: dataDir ? loadOrCreateSecret(dataDir) : randomBytes(32).toString("hex"),
      queues: {},
      sms: { replyPointers: false, ...sms },
      email: {},
      scheduler: {},
      // CloudWatch's embedded metric format has no reader here.
      metrics: false,
    };
    const build = (s: Settings, queuesEndpoint?: string) => {
      const app = createApp(s, {
        clock: clock.now,
        ddb: store,
        auditAnchor: localAuditAnchor({ dataDir }) ?? null,
        queues: queuesEndpoint ? { ...LOCAL_AWS, endpoint: queuesEndpoint } : { ...LOCAL_AWS },
      });
      apps.push(app);
      return app;
    };
    const app = build(settings);
    const runtime: Runtime = {
      // The app's: where SMS goes through a vendor, campaigns need their registered template codes.
      config: app.config,
      dataDir,
      repo: app.repo,
      secret: app.secret.get(),
      clock,
      settings,
      app,
      attachMessaging(m) {
        runtime.settings = {
          ...runtime.settings,
          maxReceiveCount: m.maxReceiveCount,
          queues: m.queues,
          sms: { ...runtime.settings.sms, endpoint: m.smsEndpoint, ...m.smsVendor },
          email: { ...runtime.settings.email, smtpUrl: m.smtpUrl },
        };
        runtime.app = build(runtime.settings, m.sqsEndpoint);
        return runtime.app;
      },
      stops,
      stop: stopAll,
      workflowLimits: { ...AWS_WORKFLOW_LIMITS, ...options.workflowLimits },
    };
    return runtime;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The HMAC key for referral codes, unsubscribe and tracking links: created once per data dir, owner-only. */
function loadOrCreateSecret(dataDir: string): string {
  const path = join(dataDir, "secret");
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("hex");
    writeFileSync(path, secret, { mode: 0o600, flag: "wx" });
    return secret;
  }
}

/** Lambda logs go to stdout on AWS; a CLI's stdout belongs to its result (`--json`), so logs go to stderr here. */
function routeLogsToStderr() {
  (logger as unknown as { console: Console }).console = new Console({
    stdout: process.stderr,
    stderr: process.stderr,
  });
}
