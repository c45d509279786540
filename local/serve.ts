import { existsSync, mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { actorForToken } from "#functions/access/users.ts";
import type { ApiDeps, ApiRequest, ApiResponse } from "#functions/api/http.ts";
import { handleApi } from "#functions/api/router.ts";
import { runDryRun } from "#functions/dryrun/job.ts";
import { runImportJob } from "#functions/import/job.ts";
import { receiptToken } from "#functions/receipts/vendor.ts";
import { releaseDue } from "#functions/release/core.ts";
import { runDueSchedules } from "#functions/schedules/core.ts";
import { handleTracking } from "#functions/track/core.ts";
import { logger } from "#platform/logger.ts";
import { localAuditAnchor } from "./audit-anchor.ts";
import { startDispatch } from "./dispatch.ts";
import { runLaunchWorkflow } from "./launch.ts";
import type { Runtime } from "./runtime.ts";

export interface ServeOptions {
  port?: number;
  /** The in-process scheduler's period (schedules and deferred sends); 0 turns it off (tests drive it). */
  schedulerMs?: number;
  /** Serve the web console from here (default: web/dist, built on first use). */
  webDir?: string | false;
  /** How often a domestic vendor's gateway pushes its delivery receipts here; 0 turns it off (tests push). */
  receiptsMs?: number;
}

export interface LocalServer {
  url: string;
  server: Server;
  /** Launches started by the API that are still running. */
  running: Set<Promise<unknown>>;
  schedulerTick(): Promise<unknown>;
  stop(): Promise<void>;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

const ROOT = resolve(import.meta.dirname, "..");

/** Builds the console with Vite the first time it is served (npm ci installs Vite; the build takes seconds). */
export async function ensureWebBuilt(): Promise<string> {
  const dist = join(ROOT, "web", "dist");
  if (existsSync(join(dist, "index.html"))) return dist;
  const { build } = await import("vite");
  await build({ configFile: join(ROOT, "web", "vite.config.ts"), logLevel: "warn" });
  return dist;
}

/** The paths outside the API (SMS webhook): small JSON bodies, read whole, in bytes. */
const MAX_HOOK_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading (and dropping) past the limit, so the client gets a 413 instead of a reset connection.
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString("utf8");
}

/**
 * The request's bytes as the API reads them: streamed, never cut. A route that stops early (413, a
 * refused encoding) must not destroy the socket before its answer goes out, so the iterator does
 * not destroy on return; what is left is drained after the answer.
 */
const streamOf = (req: IncomingMessage): AsyncIterable<Uint8Array> => ({
  [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }),
});

function send(res: ServerResponse, out: ApiResponse) {
  const body = out.isBase64Encoded ? Buffer.from(out.body, "base64") : Buffer.from(out.body, "utf8");
  res.writeHead(out.status, {
    ...out.headers,
    "content-length": String(body.length),
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

/**
 * `tiercast serve`: the API handlers, the tracking redirect and the console on 127.0.0.1, with the
 * dispatch workers and an in-process scheduler, all on the embedded runtime.
 */
export async function startServe(runtime: Runtime, options: ServeOptions = {}): Promise<LocalServer> {
  const dispatch = await startDispatch(runtime);
  const running = new Set<Promise<unknown>>();
  const base = runtime.app.base();
  // Import files go to a real local S3-compatible server, as they go to S3 on AWS. Loaded here, not
  // at the top: every CLI command imports this module, and only `serve` needs S3.
  const [{ S3Client }, { s3Objects }, { LOCAL_IMPORT_BUCKET, LOCAL_S3_CREDENTIALS, localS3Dir, startS3 }] =
    await Promise.all([
      import("@aws-sdk/client-s3"),
      import("#functions/import/objects.ts"),
      import("./s3.ts"),
    ]);
  const s3 = await startS3(
    runtime.dataDir ? localS3Dir(runtime.dataDir) : mkdtempSync(join(tmpdir(), "tiercast-s3-")),
    LOCAL_IMPORT_BUCKET,
  );
  runtime.stops.push(s3.stop);
  const objects = s3Objects(
    LOCAL_IMPORT_BUCKET,
    new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: LOCAL_S3_CREDENTIALS,
    }),
  );
  const deps: ApiDeps = {
    repo: runtime.repo,
    config: runtime.config,
    secret: base.secret,
    now: base.now,
    auditAnchor: localAuditAnchor(runtime),
    async authenticate(req) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      return m ? actorForToken(runtime.repo, m[1]!) : undefined;
    },
    objects,
    async startImportJob(jobId) {
      const run = runImportJob({ repo: runtime.repo, objects, now: base.now }, jobId, {
        config: runtime.config,
      }).catch((err: unknown) => logger.error("import job failed", { jobId, error: err as Error }));
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    async startDryRun(jobId) {
      const run = runDryRun(
        { repo: runtime.repo, config: runtime.config, secret: base.secret, now: base.now },
        jobId,
      ).catch((err: unknown) => logger.error("dry run failed", { jobId, error: err as Error }));
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    async startLaunch(campaignId, version, at) {
      // The workflow's Finalize step records the outcome in the campaign's trail, as on AWS.
      const run = runLaunchWorkflow(runtime, { campaignId, at }).catch((err: unknown) =>
        logger.error("launch failed", { campaignId, error: err as Error }),
      );
      running.add(run);
      void run.finally(() => running.delete(run));
      return { executionId: `local:${campaignId}:v${version}` };
    },
  };
  const webDir = options.webDir === false ? undefined : (options.webDir ?? (await ensureWebBuilt()));

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request: ApiRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [
            k.toLowerCase(),
            Array.isArray(v) ? v.join(",") : (v ?? ""),
          ]),
        ),
        body: "",
      };
      if (url.pathname.startsWith("/api/")) {
        const out = await handleApi(hasBody ? { ...request, stream: streamOf(req) } : request, deps);
        if (!req.readableEnded) {
          // Answered before the body was read (401, 413…): drop the rest, and do not reuse the connection.
          out.headers = { ...out.headers, connection: "close" };
          req.resume();
        }
        return send(res, out);
      }
      if (hasBody) {
        const body = await readBody(req, MAX_HOOK_BODY);
        if (body === undefined)
          return send(res, {
            status: 413,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ error: "too_large", message: "the body is over 1 MB" }),
          });
        request.body = body;
      }
      const tracked = await handleTracking(request, deps);
      if (tracked) return send(res, tracked);
      if (!webDir)
        return send(res, { status: 404, headers: { "content-type": "text/plain" }, body: "not found" });
      // The console: a file of web/dist, or its index.html for the app's own routes.
      const file = normalize(join(webDir, url.pathname));
      const inside = file.startsWith(webDir) && extname(file) && existsSync(file);
      const path = inside ? file : join(webDir, "index.html");
      send(res, {
        status: 200,
        headers: {
          "content-type": MIME[extname(path)] ?? "application/octet-stream",
          "cache-control": path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
          "content-security-policy":
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        },
        body: (await readFile(path)).toString("base64"),
        isBase64Encoded: true,
      });
    } catch (err) {
      logger.error("request failed", { error: err as Error });
      send(res, {
        status: 500,
        headers: { "content-type": "application/json" },
        body: '{"error":"internal"}',
      });
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;

  // A domestic vendor's gateway pushes its receipts to this server's callback URL, as the vendor's
  // console is set to push to the deployment's (with the token; see receipts/vendor.ts).
  const vendor = runtime.settings.sms.provider;
  let receiptsTimer: NodeJS.Timeout | undefined;
  if (dispatch.vendor && (vendor === "aliyun" || vendor === "tencent")) {
    const gateway = dispatch.vendor;
    gateway.pushReceiptsTo(
      `http://127.0.0.1:${port}/hooks/sms/${vendor}?token=${receiptToken(base.secret, vendor)}`,
    );
    if (options.receiptsMs !== 0)
      receiptsTimer = setInterval(() => {
        gateway.flushReceipts().catch(() => {});
      }, options.receiptsMs ?? 2_000);
  }

  const schedulerTick = async () => {
    const runs = await runDueSchedules(deps);
    const released = await releaseDue({
      repo: runtime.repo,
      shards: runtime.config.shards,
      now: base.now,
      enqueue: base.enqueue,
    });
    return { runs, released: released.released };
  };
  let ticking = false;
  const timer =
    options.schedulerMs === 0
      ? undefined
      : setInterval(() => {
          if (ticking) return;
          ticking = true;
          schedulerTick()
            .catch((err: unknown) => logger.error("scheduler tick failed", { error: err as Error }))
            .finally(() => {
              ticking = false;
            });
        }, options.schedulerMs ?? 30_000);

  return {
    url: `http://127.0.0.1:${port}`,
    server,
    running,
    schedulerTick,
    async stop() {
      if (timer) clearInterval(timer);
      if (receiptsTimer) clearInterval(receiptsTimer);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await Promise.allSettled([...running]);
    },
  };
}
