import type { Actor } from "#functions/access/users.ts";
import { logger } from "#platform/logger.ts";
import {
  type AnyRoute,
  type ApiDeps,
  type ApiRequest,
  type ApiResponse,
  bodyBytes,
  errorResponse,
  isResponse,
  json,
  readLimited,
} from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { ROUTES } from "./routes.ts";

interface Compiled {
  route: AnyRoute;
  regex: RegExp;
  names: string[];
  literal: number;
}

function compile(routes: AnyRoute[]): Compiled[] {
  return routes.map((route) => {
    const names: string[] = [];
    const pattern = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    return {
      route,
      regex: new RegExp(`^${pattern}/?$`),
      names,
      literal: route.path.replace(/\{\w+\}/g, "").length,
    };
  });
}

/** Every route of the API, with the OpenAPI document's own route; tests enumerate this list. */
export const API_ROUTES: AnyRoute[] = [
  ...ROUTES,
  {
    method: "GET",
    path: "/api/openapi.json",
    summary: "This API's OpenAPI 3.1 document",
    roles: "public",
    handle: async () => openApiDocument(API_ROUTES),
  },
];
const COMPILED = compile(API_ROUTES).sort((a, b) => b.literal - a.literal);

/** A JSON body: Lambda's 6 MB payload limit, the same locally; `text` routes (imports) stream instead. */
const MAX_JSON_BODY = 6 * 1024 * 1024;
/** Ids in paths and queries are store keys: longer than this, or with control characters, they cannot name anything. */
const MAX_ID = 256;

/** Path parameters, decoded; bad percent-encoding or an id no record can have is the client's error. */
function decodeParams(names: string[], match: RegExpExecArray): Record<string, string> | string {
  const params: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    let value: string;
    try {
      value = decodeURIComponent(match[i + 1]!);
    } catch {
      return `${name}: bad percent-encoding in the path`;
    }
    const problem = idProblem(value);
    if (problem) return `${name}: ${problem}`;
    params[name] = value;
  }
  return params;
}

function idProblem(value: string): string | undefined {
  if (value.length > MAX_ID) return `longer than ${MAX_ID} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return "control characters are not allowed";
  return undefined;
}

function queryProblem(query: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(query)) {
    if (name.length > MAX_ID) return "a query parameter name is too long";
    if (value.length > 2048) return `${name}: longer than 2048 characters`;
    if ((name === "customer" || name === "branch" || name === "rm") && idProblem(value))
      return `${name}: ${idProblem(value)}`;
  }
  return undefined;
}

/** Matches, authenticates, authorizes, parses and runs one request; every failure is a JSON error. */
export async function handleApi(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  try {
    const matches = COMPILED.map((c) => ({ c, m: c.regex.exec(req.path) })).filter((x) => x.m);
    if (matches.length === 0) return json(404, { error: "not_found", message: `no API route ${req.path}` });
    const hit = matches.find((x) => x.c.route.method === req.method);
    if (!hit) {
      const allowed = [...new Set(matches.map((x) => x.c.route.method))].join(", ");
      return json(
        405,
        {
          error: "method_not_allowed",
          message: `${req.method} is not allowed on ${req.path} (use ${allowed})`,
        },
        { allow: allowed },
      );
    }
    const { route } = hit.c;
    const params = decodeParams(hit.c.names, hit.m!);
    if (typeof params === "string") return json(400, { error: "bad_input", message: params });
    const badQuery = queryProblem(req.query);
    if (badQuery) return json(400, { error: "bad_input", message: badQuery });
    // Public routes never read the actor; this placeholder has the least privileged role.
    let actor: Actor | undefined = { userId: "public", role: "analyst" };
    if (route.roles !== "public") {
      actor = await deps.authenticate(req);
      if (!actor)
        return json(401, {
          error: "unauthorized",
          message:
            "missing or invalid token: send Authorization: Bearer <token> (tiercast users add issues one)",
        });
      if (!route.roles.includes(actor.role))
        return json(403, {
          error: "forbidden",
          // The summary's own parenthesis (a reference for the API's readers) is not for this message.
          message: `the ${actor.role} role cannot ${route.summary.replace(/\s*\(.*\)\s*$/, "").toLowerCase()} (allowed: ${route.roles.join(", ")})`,
        });
    }
    let body: unknown;
    if (route.body && route.body !== "text") {
      const text = await readLimited(bodyBytes(req), MAX_JSON_BODY);
      try {
        body = text.trim() ? JSON.parse(text) : undefined;
      } catch {
        return json(400, { error: "bad_input", message: "the body is not valid JSON" });
      }
      if (!route.rawJson) {
        const parsed = route.body.safeParse(body);
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
          return json(400, { error: "bad_input", message: `invalid body: ${problems.join("; ")}`, problems });
        }
        body = parsed.data;
      }
    }
    const out = await route.handle({
      req,
      actor,
      params,
      query: req.query,
      body,
      stream: bodyBytes(req),
      deps,
    });
    return isResponse(out) ? out : json(200, out);
  } catch (err) {
    const res = errorResponse(err);
    if (res.status >= 500 || (err as Error)?.name === "ValidationException")
      logger.error("API request failed", { path: req.path, status: res.status, error: err as Error });
    return res;
  }
}
