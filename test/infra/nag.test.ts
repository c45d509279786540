import { App, Stack, Validations } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { buildStacks } from "../../infra/stacks/index.ts";
import { testSettings } from "./settings.ts";

function synthWithNag(
  env: "dev" | "prod",
  extra?: (app: App) => void,
  region?: string,
  context: Record<string, string> = {},
) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  buildStacks(app, testSettings(env, region, context));
  extra?.(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return () => app.synth();
}

describe("cdk-nag AwsSolutions on every stack", () => {
  it.each(["dev", "prod"] as const)(
    "has no unacknowledged finding in %s",
    (env) => {
      expect(synthWithNag(env)).not.toThrow();
    },
    120_000,
  );

  it("has no unacknowledged finding in the AWS China profile (prod, cn-north-1)", () => {
    expect(synthWithNag("prod", undefined, "cn-north-1")).not.toThrow();
  }, 120_000);

  it("has no unacknowledged finding with Tencent Cloud SMS directly (prod, cn-north-1)", () => {
    expect(
      synthWithNag("prod", undefined, "cn-north-1", { smsProvider: "tencent", smsAppId: "1400123456" }),
    ).not.toThrow();
  }, 120_000);

  it("fails synthesis when a finding is not acknowledged", () => {
    const bad = synthWithNag("dev", (app) => new s3.Bucket(new Stack(app, "Bad"), "Open"));
    expect(bad).toThrow();
  }, 120_000);
});

describe("cdk-nag acknowledgements", () => {
  it("sit on the resource whose finding they explain, never on a whole stack or the app", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stacks = Object.values(buildStacks(app, testSettings("prod")));
    const broad = [app, ...stacks].filter((scope) =>
      scope.node.metadata.some((m) => m.type === "aws:cdk:acknowledged-rules"),
    );
    expect(broad.map((s) => s.node.path)).toEqual([]);
  });
});
