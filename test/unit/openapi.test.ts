import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openApiDocument, undocumentedRoutes } from "#functions/api/openapi.ts";
import { API_ROUTES } from "#functions/api/router.ts";

/**
 * The OpenAPI document is generated from the router's route table: a route without a document entry
 * fails here, and the whole document passes Redocly's lint (redocly.yaml) with zero errors. Answers
 * against the document: test/integration/openapi.test.ts.
 */

const doc = openApiDocument(API_ROUTES);
const METHODS = ["get", "put", "post", "delete", "patch"];
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Record<string, unknown>>)
    .filter(([m]) => METHODS.includes(m))
    .map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, op })),
);
/** The public paths outside the router (functions/track/core.ts), described in openapi.ts. */
const TRACKING = [
  "GET /t/c/{token}",
  "GET /t/o/{token}.gif",
  "GET /u",
  "POST /u",
  "POST /hooks/sms",
  "POST /hooks/sms/aliyun",
  "POST /hooks/sms/tencent",
];

describe("OpenAPI document", () => {
  it("has an entry for every route of the router, and no operation the router and tracking do not have", () => {
    expect(undocumentedRoutes(API_ROUTES)).toEqual([]);
    const routes = API_ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(operations.map((o) => o.key).sort()).toEqual([...routes, ...TRACKING].sort());
  });

  it("gives every operation a tag, summary, description, unique operationId, a response body schema and the error statuses", () => {
    const ids = new Set<string>();
    for (const { key, op } of operations) {
      expect(op.tags, key).toHaveLength(1);
      expect(op.summary && op.description, key).toBeTruthy();
      expect(ids.has(op.operationId as string), key).toBe(false);
      ids.add(op.operationId as string);
      const responses = op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>;
      const ok = Object.entries(responses).filter(([s]) => /^[23]/.test(s));
      expect(ok.length, key).toBeGreaterThan(0);
      for (const [status, res] of ok)
        if (status !== "302")
          for (const [media, c] of Object.entries(res.content ?? {}))
            expect(c.schema, `${key} ${status} ${media}`).toBeDefined();
      if (key.includes(" /api/")) {
        expect(responses["400"], `${key} 400`).toBeDefined();
        if (op.security === undefined) expect(responses["401"], `${key} 401`).toBeDefined();
      }
    }
  });

  it("documents the ledger's CSV export with its cursor header, and 404/405/409/413 where they occur", () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking the generated JSON
    const at = (path: string) => (doc.paths as Record<string, any>)[path];
    const ledger = at("/api/campaigns/{campaignId}/ledger").get.responses;
    expect(Object.keys(ledger["200"].content)).toEqual(["application/json", "text/csv"]);
    expect(ledger["200"].headers["X-Next-Cursor"]).toBeDefined();
    const create = at("/api/campaigns").post.responses;
    expect(Object.keys(create)).toEqual(["201", "400", "401", "403", "409", "413"]);
    expect(doc.components.responses.MethodNotAllowed.headers.Allow.required).toBe(true);
  });

  it("passes Redocly's lint (redocly.yaml) with zero errors, and only the warnings redocly.yaml explains", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tiercast-openapi-"));
    const file = join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const cli = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
    const run = await promisify(execFile)(
      process.execPath,
      [cli, "lint", file, "--config", join(process.cwd(), "redocly.yaml"), "--format=json"],
      {
        // Offline: no telemetry, no update check.
        env: {
          ...process.env,
          REDOCLY_TELEMETRY: "off",
          REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
          REDOCLY_SUPPRESS_NOTIFICATIONS: "true",
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    }));
    const report = JSON.parse(run.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`,
    );
    expect(problems.filter((p) => p.startsWith("error"))).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(
      [
        "warn operation-2xx-response #/paths/~1t~1c~1{token}/get/responses",
        "warn operation-4xx-response #/paths/~1t~1o~1{token}.gif/get/responses",
        "warn no-unused-components #/components/responses/NotFound",
        "warn no-unused-components #/components/responses/MethodNotAllowed",
      ].sort(),
    );
  }, 60_000);
});
