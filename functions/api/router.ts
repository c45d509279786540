import type { Actor } from "#functions/access/users.ts";
import { logger } from "#shared/logger.ts";
import {
  type AnyRoute,
  type ApiDeps,
  type ApiRequest,
  type ApiResponse,
  errorResponse,
  isResponse,
  json,
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

const MAX_BODY = 6 * 1024 * 1024; // API Gateway's payload limit, the same locally

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
    const params = Object.fromEntries(hit.c.names.map((n, i) => [n, decodeURIComponent(hit.m![i + 1]!)]));
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
          message: `the ${actor.role} role cannot ${route.summary.toLowerCase()} (allowed: ${route.roles.join(", ")})`,
        });
    }
    if (req.body.length > MAX_BODY)
      return json(413, { error: "too_large", message: `the body is over ${MAX_BODY / 1024 / 1024} MB` });
    let body: unknown = req.body;
    if (route.body && route.body !== "text") {
      try {
        body = req.body.trim() ? JSON.parse(req.body) : undefined;
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
    const out = await route.handle({ req, actor, params, query: req.query, body, deps });
    return isResponse(out) ? out : json(200, out);
  } catch (err) {
    const res = errorResponse(err);
    if (res.status >= 500) logger.error("API request failed", { path: req.path, error: err as Error });
    return res;
  }
}
