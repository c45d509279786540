import { Console } from "node:console";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { documentClient, resetClients } from "#platform/clients.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { logger } from "#platform/logger.ts";
import { Repo } from "#platform/repo.ts";
import { ensureTable, startDynamo } from "./dynamo.ts";
import { lockDataDir } from "./lock.ts";

export const TABLE_NAME = "tiercast";

export interface RuntimeOptions {
  /** On-disk state lives here; omit for an in-memory runtime (tests). */
  dataDir?: string;
  config: TiercastConfig;
  at?: Date;
}

export interface Runtime {
  config: TiercastConfig;
  dataDir?: string;
  repo: Repo;
  stops: (() => Promise<void>)[];
  stop(): Promise<void>;
}

/**
 * Starts the embedded runtime's servers on 127.0.0.1 and points the SDK clients at them through
 * the standard AWS_ENDPOINT_URL_* variables, so handlers run unchanged.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  routeLogsToStderr();
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const stops: (() => Promise<void>)[] = [];
  const runtime: Runtime = {
    config: options.config,
    dataDir,
    repo: undefined as unknown as Repo,
    stops,
    async stop() {
      resetClients();
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
    },
  };
  try {
    if (dataDir) {
      const unlock = await lockDataDir(dataDir);
      stops.push(async () => unlock());
    }
    const dynamo = await startDynamo(dataDir);
    stops.push(dynamo.stop);
    Object.assign(process.env, {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      TABLE_NAME,
      TIERCAST_SHARDS: String(options.config.shards),
      // CloudWatch's embedded metric format has no reader here; set it to "false" to see the EMF lines.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
    });
    process.env.TIERCAST_SECRET = dataDir ? loadOrCreateSecret(dataDir) : randomBytes(32).toString("hex");
    if (options.at) process.env.TIERCAST_CLOCK_AT = options.at.toISOString();
    else delete process.env.TIERCAST_CLOCK_AT;
    resetClients();
    await ensureTable(dynamo.endpoint, TABLE_NAME);
    runtime.repo = new Repo(documentClient(), TABLE_NAME);
    return runtime;
  } catch (err) {
    await runtime.stop();
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
