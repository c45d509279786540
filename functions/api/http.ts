import type { z } from "zod";
import type { Actor, Role } from "#functions/access/users.ts";
import type { AuditAnchor } from "#functions/audit/store.ts";
import type { TiercastConfig } from "#shared/config.ts";
import { TiercastError } from "#shared/errors.ts";
import type { Repo } from "#shared/repo.ts";

/** A request as both runtimes see it: built from API Gateway's event on AWS, from node:http locally. */
export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
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
  /** Creates, updates or deletes the schedule's timer (EventBridge Scheduler on AWS; the in-process scheduler polls the table). */
  syncSchedule?: (scheduleId: string, cron: string | undefined) => Promise<void>;
}

export interface RouteContext<B> {
  req: ApiRequest;
  actor: Actor;
  params: Record<string, string>;
  query: Record<string, string>;
  body: B;
  deps: ApiDeps;
}

export interface Route<B = unknown> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** `/api/campaigns/{campaignId}` */
  path: string;
  summary: string;
  /** Roles allowed; `public` routes take no token. */
  roles: readonly Role[] | "public";
  /** JSON body schema (also the OpenAPI request body); `text` takes the raw body (JSONL/CSV). */
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
  exists: 409,
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
  return json(500, {
    error: "internal",
    message: "internal error: the request was not completed; see the logs",
  });
}

export type AnyRoute = Route<unknown>;
/** Keeps each route's body type while the table holds them all. */
export const route = <B>(r: Route<B>): AnyRoute => r as unknown as AnyRoute;
