import type { z } from "zod";
import type { Actor, Role } from "#functions/access/users.ts";
import type { AuditAnchor, AuditWriter } from "#functions/audit/store.ts";
import type { ObjectStore } from "#functions/import/job.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { TiercastError } from "#platform/errors.ts";
import type { Repo } from "#platform/repo.ts";

/** A request as both runtimes see it: built from API Gateway's event on AWS, from node:http locally. */
export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The body as text (API Gateway hands it over whole); empty when `stream` carries it. */
  body: string;
  /** The body's bytes, unread (the local server), so an import of any size streams; see `bodyBytes`. */
  stream?: AsyncIterable<Uint8Array>;
  /** The body's exact bytes when API Gateway sent it base64 (a GBK file must not pass through a UTF-8 string). */
  rawBody?: Buffer;
  /** Claims API Gateway's JWT authorizer verified (AWS only). */
  claims?: Record<string, unknown>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body is base64 (binary, such as the open pixel), as API Gateway expects it. */
  isBase64Encoded?: boolean;
}

export interface ApiDeps {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: () => Date;
  /** Who sent the request: a local bearer token, or Cognito's claims on AWS. */
  authenticate: (req: ApiRequest) => Promise<Actor | undefined>;
  /** Starts the launch workflow (Step Functions on AWS, the embedded interpreter locally). */
  startLaunch: (campaignId: string, version: number, at: string) => Promise<{ executionId: string }>;
  /** Where audit heads are exported outside the table (a file locally, the function's log on AWS). */
  auditAnchor?: AuditAnchor;
  /** Where appends go (the AuditWriter function on AWS); absent: in process. */
  auditWriter?: AuditWriter;
  /** Where import files are uploaded (S3; the local S3-compatible server); absent: no import jobs here. */
  objects?: ObjectStore;
  /** Runs an import job to the end, in the background (an SQS message to the job worker on AWS, in-process locally). */
  startImportJob?: (jobId: string) => Promise<void>;
  /** Runs a dry-run job to the end, in the background (an SQS message to the dry-run worker on AWS, in-process locally). */
  startDryRun?: (jobId: string) => Promise<void>;
  /** Creates, updates or deletes the schedule's timer (EventBridge Scheduler on AWS; the in-process scheduler polls the table). */
  syncSchedule?: (scheduleId: string, cron: string | undefined) => Promise<void>;
}

export interface RouteContext<B> {
  req: ApiRequest;
  actor: Actor;
  params: Record<string, string>;
  query: Record<string, string>;
  body: B;
  /** The raw body of a `text` route, streaming: read it once. */
  stream: AsyncIterable<Uint8Array>;
  deps: ApiDeps;
}

export interface Route<B = unknown> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** `/api/campaigns/{campaignId}` */
  path: string;
  summary: string;
  /** Roles allowed; `public` routes take no token. */
  roles: readonly Role[] | "public";
  /** JSON body schema (also the OpenAPI request body); `text` streams the raw body (JSONL/CSV/xlsx) as `stream`. */
  body?: z.ZodType<B> | "text";
  /** The handler validates the JSON itself (campaigns: parseCampaign lists every problem); the schema is for the docs. */
  rawJson?: boolean;
  query?: Record<string, string>;
  handle: (ctx: RouteContext<B>) => Promise<ApiResponse | unknown>;
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", ...headers },
  body: JSON.stringify(value),
});

export const isResponse = (v: unknown): v is ApiResponse =>
  typeof v === "object" && v !== null && "status" in v && "body" in v && "headers" in v;

const STATUS_OF: Record<string, number> = {
  bad_usage: 400,
  bad_input: 400,
  bad_encoding: 400,
  too_large: 413,
  invalid_campaign: 400,
  unauthorized: 401,
  forbidden: 403,
  self_approval: 403,
  other_branch: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  not_approved: 409,
  not_editable: 409,
  changed_meanwhile: 409,
  exists: 409,
  other_rm: 403,
  task_closed: 409,
  task_changed: 409,
  reward_paid: 409,
};

/** Errors become JSON a person can act on: `{error: code, message, problems?}`; unexpected ones are 500 without internals. */
export function errorResponse(err: unknown): ApiResponse {
  if (err instanceof TiercastError) {
    const problems = (err as { problems?: string[] }).problems;
    return json(STATUS_OF[err.code] ?? (err.exitCode === 2 ? 400 : 500), {
      error: err.code,
      message: err.message,
      ...(problems ? { problems } : {}),
    });
  }
  // The store refusing a request's values is the request's fault (a key or item too large): a 400 the
  // caller can act on. The router logs it, as it means a check is missing at the boundary.
  if ((err as Error)?.name === "ValidationException")
    return json(400, {
      error: "unstorable",
      message: `the store cannot hold a value of this request: ${(err as Error).message.split("\n")[0]}`,
    });
  if (err instanceof URIError)
    return json(400, { error: "bad_input", message: `bad percent-encoding: ${err.message}` });
  return json(500, {
    error: "internal",
    message: "internal error: the request was not completed; see the logs",
  });
}

export type AnyRoute = Route<unknown>;
/** Keeps each route's body type while the table holds them all. */
export const route = <B>(r: Route<B>): AnyRoute => r as unknown as AnyRoute;

/** The request body is over what this route takes: HTTP 413, before anything is stored. */
export class TooLargeError extends TiercastError {
  override readonly exitCode = 2;
  override readonly code: string = "too_large";
}

/** The body's bytes as a stream, whichever runtime delivered it. */
export function bodyBytes(req: ApiRequest): AsyncIterable<Uint8Array> {
  if (req.stream) return req.stream;
  const bytes = req.rawBody ?? Buffer.from(req.body, "utf8");
  return (async function* () {
    if (bytes.length > 0) yield bytes;
  })();
}

/** Reads a whole body up to `limit` bytes, or throws TooLargeError (bytes, not characters: 6 MB of Chinese is 2 M characters). */
export async function readLimited(bytes: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of bytes) {
    size += chunk.byteLength;
    if (size > limit)
      throw new TooLargeError(
        `the body is over ${Math.round(limit / 1024 / 1024)} MB; JSON bodies (campaigns, event arrays) are at most that, imports stream JSONL/CSV/xlsx of any size`,
      );
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(parts).toString("utf8");
}
