import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { settingsFor } from "../../infra/settings.ts";
import { buildStacks } from "../../infra/stacks/index.ts";
import { effectiveSettings, testSettings } from "./settings.ts";

const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
const stacks = buildStacks(app, testSettings("prod", "cn-north-1"));
const all = Object.values(stacks).map((s) => ({ stack: s, template: Template.fromStack(s) }));
const types = new Set(
  all.flatMap(({ template }) =>
    Object.values(template.toJSON().Resources ?? {}).map((r) => (r as { Type: string }).Type),
  ),
);

describe("AWS China profile (-c region=cn-north-1)", () => {
  it("pins every stack to the China region", () => {
    for (const { stack } of all) expect(stack.region).toBe("cn-north-1");
  });

  it("uses no service AWS China lacks", () => {
    for (const missing of [
      "AWS::Cognito::UserPool",
      "AWS::SES::ConfigurationSet",
      "AWS::SMSVOICE::ConfigurationSet",
      "AWS::CloudFront::OriginAccessControl",
      "AWS::CloudFront::Function",
    ])
      expect(types.has(missing), missing).toBe(false);
    expect(types.has("AWS::CloudFront::CloudFrontOriginAccessIdentity")).toBe(true);
  });

  it("puts the bank IdP's OIDC authorizer in front of /api/*", () => {
    const api = Template.fromStack(stacks.api);
    api.hasResourceProperties("AWS::ApiGateway::Authorizer", { Type: "TOKEN" });
    api.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          OIDC_ISSUER: "https://sso.bank.example.cn",
          OIDC_AUDIENCE: "tiercast-console",
        }),
      },
    });
    const secured = Object.values(api.findResources("AWS::ApiGateway::Method")).filter(
      (m) => (m.Properties as { AuthorizationType: string }).AuthorizationType === "CUSTOM",
    );
    expect(secured).toHaveLength(1);
  });

  it("opens the SMS vendors' receipt pushes (/hooks/sms/aliyun, /hooks/sms/tencent) and nothing else beyond the global paths", () => {
    const api = Template.fromStack(stacks.api).toJSON();
    const resources = api.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const parts = Object.values(resources)
      .filter((r) => r.Type === "AWS::ApiGateway::Resource")
      .map((r) => r.Properties.PathPart);
    expect(parts).toEqual(expect.arrayContaining(["hooks", "sms", "aliyun", "tencent"]));
    const open = Object.values(resources).filter(
      (r) =>
        r.Type === "AWS::ApiGateway::Method" &&
        r.Properties.AuthorizationType === "NONE" &&
        r.Properties.HttpMethod !== "OPTIONS",
    );
    // openapi.json, health, /t, GET and POST /u, /hooks/sms, /hooks/sms/aliyun, /hooks/sms/tencent
    expect(open).toHaveLength(8);
  });

  it("sends SMS through the domestic gateway and email through the bank's relay, credentials in a secret", () => {
    const workflow = Template.fromStack(stacks.workflow);
    const templates = all.map(({ template }) => template.toJSON());
    const workers = Object.values(workflow.findResources("AWS::Lambda::Function"))
      .map((f) => effectiveSettings(templates, f.Properties.Environment.Variables))
      .filter((s) => s.SMTP_URL !== undefined);
    expect(workers).toHaveLength(3);
    for (const s of workers)
      expect(s).toMatchObject({
        SMS_ENDPOINT: "https://sms-gateway.bank.example.cn",
        SMTP_URL: "smtps://smtp-relay.bank.example.cn:465",
        SMTP_SECRET_ARN: expect.anything(),
      });
    const policies = JSON.stringify(workflow.findResources("AWS::IAM::Policy"));
    expect(policies).not.toContain("ses:SendEmail");
    expect(policies).not.toContain("sms-voice:SendTextMessage");
  });

  it("refuses to synthesize without the China settings, listing each", () => {
    expect(() => testSettings("prod", "cn-north-1", { smsGatewayUrl: "", oidcIssuer: "" })).not.toThrow(); // empty context values fall back to the file's
    expect(() => testSettingsWithout("smsGatewayUrl")).toThrow(/smsGatewayUrl: required in AWS China/);
  });
});

describe.each([
  ["aliyun", {}, { SMS_PROVIDER: "aliyun" }],
  [
    "tencent",
    { smsAppId: "1400123456", smsRegion: "ap-beijing" },
    {
      SMS_PROVIDER: "tencent",
      SMS_APP_ID: "1400123456",
      SMS_REGION: "ap-beijing",
    },
  ],
] as const)("AWS China with SMS through %s directly", (smsProvider, extra, env) => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stacks = buildStacks(app, testSettings("prod", "cn-north-1", { smsProvider, ...extra }));
  const workflow = Template.fromStack(stacks.workflow);
  const [secretId] = Object.keys(
    workflow.findResources("AWS::SecretsManager::Secret", {
      Properties: { Description: Match.stringLikeRegexp("SMS keys") },
    }),
  );

  it("gives the SMS worker (and the await step, which reconciles lost answers) the vendor, its settings and the secret's ARN, never a key", () => {
    expect(secretId).toBeDefined();
    const templates = Object.values(stacks).map((s) => Template.fromStack(s).toJSON());
    const workers = Object.values(workflow.findResources("AWS::Lambda::Function"))
      .map((f) => effectiveSettings(templates, f.Properties.Environment.Variables))
      .filter((s) => s.SMS_PROVIDER !== undefined);
    // The three channel workers and the await step.
    expect(workers).toHaveLength(4);
    for (const s of workers) {
      expect(s).toMatchObject({ ...env, SMS_SECRET_ARN: { Ref: secretId } });
      expect(s.SMS_ENDPOINT).toBeUndefined();
    }
    const vars = JSON.stringify(workflow.findResources("AWS::Lambda::Function"));
    expect(vars).not.toMatch(/accessKeySecret|secretKey/);
  });

  it("lets only the SMS worker and the await step read that secret, with GetSecretValue alone", () => {
    const readers = Object.entries(workflow.findResources("AWS::IAM::Policy")).filter(([, p]) =>
      JSON.stringify(p).includes(`"Ref":"${secretId}"`),
    );
    expect(readers).toHaveLength(2);
    for (const [, reader] of readers) {
      const statements = (
        reader.Properties as { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } }
      ).PolicyDocument.Statement.filter((st) => JSON.stringify(st.Resource).includes(secretId!));
      expect(statements).toEqual([
        expect.objectContaining({ Action: "secretsmanager:GetSecretValue", Resource: { Ref: secretId } }),
      ]);
    }
    const roles = readers.map(([, r]) => JSON.stringify(r.Properties)).join(" ");
    expect(roles).toMatch(/SmsWorker/);
    expect(roles).toMatch(/AwaitDispatch/);
  });
});

describe("SMS provider settings", () => {
  it("needs Tencent's SmsSdkAppId", () => {
    expect(() => testSettings("prod", "cn-north-1", { smsProvider: "tencent" })).toThrow(
      /smsAppId: required for Tencent Cloud SMS/,
    );
  });

  it("needs no gateway URL when a vendor sends", () => {
    expect(testSettingsWithout("smsGatewayUrl", { smsProvider: "aliyun" }).deployment.smsProvider).toBe(
      "aliyun",
    );
  });

  it("refuses a domestic vendor outside AWS China", () => {
    expect(() => testSettings("prod", undefined, { smsProvider: "aliyun" })).toThrow(
      /smsProvider: only in AWS China/,
    );
  });
});

function testSettingsWithout(key: string, extra: Record<string, string> = {}) {
  // The example China file minus one key, as an operator who forgot it would have.
  const base = JSON.parse(
    readFileSync(new URL("../../infra/deploy/example.cn.json", import.meta.url), "utf8"),
  ) as Record<string, string>;
  delete base[key];
  return settingsFor("prod", { ...base, ...extra });
}
