import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { settingsFor } from "../../infra/settings.ts";
import { buildStacks } from "../../infra/stacks/index.ts";
import { testSettings } from "./settings.ts";

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

  it("sends SMS through the domestic gateway and email through the bank's relay, credentials in a secret", () => {
    const workflow = Template.fromStack(stacks.workflow);
    workflow.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          SMS_ENDPOINT: "https://sms-gateway.bank.example.cn",
          SMTP_URL: "smtps://smtp-relay.bank.example.cn:465",
          SMTP_SECRET_ARN: Match.anyValue(),
        }),
      },
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

function testSettingsWithout(key: string) {
  // The example China file minus one key, as an operator who forgot it would have.
  const base = JSON.parse(
    readFileSync(new URL("../../infra/deploy/example.cn.json", import.meta.url), "utf8"),
  ) as Record<string, string>;
  delete base[key];
  return settingsFor("prod", base);
}
