import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { Env, settingsFrom } from "#platform/env.ts";
import { buildStacks } from "../../infra/stacks/index.ts";
import { effectiveSettings, testSettings } from "./settings.ts";

/** Read by the Lambda runtime, Node or Powertools themselves, not by the composition root. */
const PLATFORM_VARS = new Set([
  "POWERTOOLS_SERVICE_NAME",
  "NODE_OPTIONS",
  "AWS_NODEJS_CONNECTION_REUSE_ENABLED",
]);

type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> }; Handler?: string } };

function functionEnvs(region?: string) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stacks = buildStacks(app, testSettings("prod", region));
  const templates = Object.values(stacks).map((s) => Template.fromStack(s).toJSON());
  return Object.values(stacks).flatMap((stack) =>
    (Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")) as Fn[])
      .filter((f) => f.Properties.Environment?.Variables?.TABLE_NAME !== undefined)
      .map((f) => ({
        handler: f.Properties.Handler,
        vars: f.Properties.Environment?.Variables ?? {},
        // What the function runs with once its SSM parameters are read (as the loader merges them).
        effective: effectiveSettings(templates, f.Properties.Environment?.Variables ?? {}),
      })),
  );
}

describe.each([undefined, "cn-north-1"])("the functions' environment (region %s)", (region) => {
  const fns = functionEnvs(region);

  it("sets only names the composition root reads", () => {
    expect(fns.length).toBeGreaterThan(5);
    const known = new Set(Object.keys(Env.shape));
    for (const { handler, effective } of fns)
      expect({
        handler,
        unknown: Object.keys(effective).filter((k) => !known.has(k) && !PLATFORM_VARS.has(k)),
      }).toEqual({
        handler,
        unknown: [],
      });
  });

  it("parses into the root's settings, as each function would at its cold start", () => {
    for (const { effective } of fns) {
      // Tokens (Refs, GetAtts) resolve at deploy time; their shape here is a placeholder string.
      const raw = Object.fromEntries(
        Object.entries(effective).map(([k, v]) => [k, typeof v === "string" ? v : `token:${k}`]),
      );
      const settings = settingsFrom(Env.parse(raw));
      expect(settings.tableName).toBeTruthy();
      expect(settings.secretArn ?? settings.secret).toBeTruthy();
    }
  });
});
