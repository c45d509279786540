import { z } from "zod";
import type { AnyRoute } from "./http.ts";

const ErrorBody = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: {
      type: "string",
      description: "a stable code: unauthorized, forbidden, self_approval, not_approved, …",
    },
    message: { type: "string", description: "what went wrong and what to do, for a person" },
    problems: { type: "array", items: { type: "string" }, description: "every problem of an invalid body" },
  },
};

/** OpenAPI 3.1 from the route table: paths, roles, and request bodies from the same zod schemas the API validates with. */
export function openApiDocument(routes: AnyRoute[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const query = Object.entries(r.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    }));
    const requestBody =
      r.body === "text"
        ? {
            required: true,
            content: { "text/plain": { schema: { type: "string", description: "JSONL or CSV" } } },
          }
        : r.body
          ? {
              required: true,
              content: {
                "application/json": {
                  schema: z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }),
                },
              },
            }
          : undefined;
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path
        .replace(/^\/api/, "")
        .replace(/[{}]/g, "")
        .replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      ...(r.roles === "public" ? { security: [] } : { "x-roles": r.roles }),
      ...(params.length + query.length ? { parameters: [...params, ...query] } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        "200": { description: "OK", content: { "application/json": {} } },
        ...(r.roles === "public"
          ? {}
          : {
              "401": {
                description: "no valid token",
                content: { "application/json": { schema: ErrorBody } },
              },
              "403": {
                description: "role, branch or maker-checker forbids it",
                content: { "application/json": { schema: ErrorBody } },
              },
            }),
        "400": { description: "invalid input", content: { "application/json": { schema: ErrorBody } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Tiercast API",
      version: "1",
      description:
        "Tier-aware marketing campaigns: campaigns with maker-checker approval, schedules, funnel, ledger, events, import.",
    },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "a local token (tiercast users add) or a Cognito JWT",
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
