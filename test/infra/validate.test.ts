import { createRequire } from "node:module";
import { EventType } from "@aws-sdk/client-pinpoint-sms-voice-v2";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { buildStacks } from "../../infra/stacks/index.ts";
import { testSettings } from "./settings.ts";

// AWS's offline validator ships inside aws-cdk-lib (not a direct dependency of ours).
const require = createRequire(new URL("../../node_modules/aws-cdk-lib/package.json", import.meta.url));
interface Diagnostic {
  severity: string;
  ruleId: string;
  message: string;
}
const cfn = require("@aws/cloudformation-validate") as {
  SchemaValidator: new () => { validate(t: unknown, region: string): Diagnostic[]; free(): void };
  TemplateContent: new (content: string, name: string) => unknown;
};

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

function synth(env: "dev" | "prod", region?: string, extra: Record<string, string> = {}) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  buildStacks(app, testSettings(env, region, extra));
  return app.synth().stacks.map((s) => ({ name: s.stackName, template: s.template as Template }));
}

/** Everything but INFO (create-only hints): a FATAL (e.g. F3006, type not in region) or ERROR fails a deploy. */
function problems(templates: { name: string; template: Template }[], region: string) {
  const validator = new cfn.SchemaValidator();
  try {
    return templates.flatMap(({ name, template }) =>
      validator
        .validate(new cfn.TemplateContent(JSON.stringify(template), name), region)
        .filter((d) => d.severity !== "INFO")
        .map((d) => `${name}: ${d.ruleId} ${d.message}`),
    );
  } finally {
    validator.free();
  }
}

const GLOBAL_REGIONS = ["us-east-1", "ap-southeast-1", "eu-west-1"];

describe.each(["dev", "prod"] as const)("%s templates", (env) => {
  const templates = synth(env);

  it.each(GLOBAL_REGIONS)("pass AWS's offline validator in %s", (region) => {
    expect(problems(templates, region)).toEqual([]);
  });

  it("subscribe SMS configuration sets only to End User Messaging event types (the SDK's enum)", () => {
    const known = new Set<string>(Object.values(EventType));
    const used = templates.flatMap(({ template }) =>
      Object.values(template.Resources ?? {})
        .filter((r) => r.Type === "AWS::SMSVOICE::ConfigurationSet")
        .flatMap((r) =>
          ((r.Properties?.EventDestinations ?? []) as { MatchingEventTypes: string[] }[]).flatMap(
            (d) => d.MatchingEventTypes,
          ),
        ),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((t) => !known.has(t))).toEqual([]);
  });
});

// AWS China: the same app with the China profile (no Cognito, SES, End User Messaging, OAC or CloudFront Functions).
describe.each([
  ["dev", "cn-north-1"],
  ["prod", "cn-north-1"],
  ["dev", "cn-northwest-1"],
  ["prod", "cn-northwest-1"],
] as const)("%s templates for %s", (env, region) => {
  it("pass AWS's offline validator in their region", () => {
    expect(problems(synth(env, region), region)).toEqual([]);
  });
});

// AWS China with Alibaba Cloud or Tencent Cloud SMS directly (their keys in a secret of the stack's own).
describe.each([
  ["aliyun", "cn-north-1", {}],
  ["tencent", "cn-northwest-1", { smsAppId: "1400123456" }],
] as const)("prod templates with SMS through %s in %s", (smsProvider, region, extra) => {
  it("pass AWS's offline validator in their region", () => {
    expect(problems(synth("prod", region, { smsProvider, ...extra }), region)).toEqual([]);
  });
});

describe("the validator itself", () => {
  it("reports a resource type that does not exist in the region", () => {
    const template = { Resources: { Pool: { Type: "AWS::Cognito::UserPool", Properties: {} } } };
    expect(problems([{ name: "t", template }], "cn-north-1").join("\n")).toMatch(/F3006/);
  });
});
