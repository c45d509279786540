import { fileURLToPath } from "node:url";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  DescribePoolsCommand,
  DescribeSpendLimitsCommand,
  PinpointSMSVoiceV2Client,
} from "@aws-sdk/client-pinpoint-sms-voice-v2";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { type Check, doctorTable, MIN_BOOTSTRAP_VERSION, runDoctor } from "../../cli/doctor.ts";

// The check logic with the SDK clients injected and mocked (no local server speaks these APIs).
const ses = mockClient(SESv2Client);
const sms = mockClient(PinpointSMSVoiceV2Client);
const secrets = mockClient(SecretsManagerClient);
const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
/** The IdP's side: a stub of fetch, by URL (a real server would need DNS for the bank's names). */
let http: Record<string, () => Response> = {};
const fetchStub = vi.fn(async (url: string | URL | Request) => {
  const answer = http[String(url)];
  if (!answer) throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND" } });
  return answer();
});
const example = (file: string) => fileURLToPath(new URL(`../../infra/deploy/${file}`, import.meta.url));
const clients = (region: string) => ({
  region,
  ses: async () => new SESv2Client({ region }),
  sms: async () => new PinpointSMSVoiceV2Client({ region }),
  secrets: async () => new SecretsManagerClient({ region }),
  cloudformation: async () => new CloudFormationClient({ region }),
  lambda: async () => new LambdaClient({ region }),
  fetch: fetchStub as unknown as typeof fetch,
});
const healthyBootstrap = {
  Stacks: [
    {
      StackName: "CDKToolkit",
      StackStatus: "UPDATE_COMPLETE",
      CreationTime: new Date(),
      Outputs: [{ OutputKey: "BootstrapVersion", OutputValue: "28" }],
    },
  ],
} as const;
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.check, c]));
const notFound = (name: string) => Object.assign(new Error("not found"), { name });

beforeEach(() => {
  ses.reset();
  sms.reset();
  secrets.reset();
  cfn.reset();
  lambda.reset();
  fetchStub.mockClear();
  cfn.on(DescribeStacksCommand).resolves(healthyBootstrap as never);
  lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  http = {
    "https://bank-example-tiercast.auth.ap-southeast-1.amazoncognito.com/oauth2/authorize": () =>
      new Response("", { status: 400 }),
    "https://sso.bank.example.cn/.well-known/openid-configuration": () =>
      Response.json({ issuer: "https://sso.bank.example.cn", jwks_uri: "https://sso.bank.example.cn/jwks" }),
  };
});

describe("tiercast doctor --aws, global", () => {
  const run = () =>
    runDoctor({ env: "prod", context: { deployment: example("example.json") } }, clients("ap-southeast-1"));

  it("passes when SES is verified and out of the sandbox and the origination identity exists", async () => {
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    ses.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: true,
      SendQuota: { MaxSendRate: 200, Max24HourSend: 1_000_000 },
    });
    sms.on(DescribePoolsCommand).resolves({ Pools: [{ PoolId: "pool-0123456789abcdef0" } as never] });
    sms.on(DescribeSpendLimitsCommand).resolves({
      SpendLimits: [
        { Name: "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT", EnforcedLimit: 1000, MaxLimit: 1000, Overridden: true },
      ],
    });
    const checks = byName(await run());
    expect(Object.values(checks).filter((c) => c.status === "fail")).toEqual([]);
    expect(checks["SES identity"]?.status).toBe("pass");
    expect(checks["SMS origination identity"]?.status).toBe("pass");
  });

  it("fails an unverified sender, the sandbox and a missing origination identity, each with its fix", async () => {
    ses.on(GetEmailIdentityCommand).rejects(notFound("NotFoundException"));
    ses.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: false,
      SendQuota: { MaxSendRate: 100, Max24HourSend: 50_000 },
    });
    sms.on(DescribePoolsCommand).rejects(notFound("ResourceNotFoundException"));
    sms.on(DescribeSpendLimitsCommand).resolves({
      SpendLimits: [
        { Name: "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT", EnforcedLimit: 1, MaxLimit: 1, Overridden: false },
      ],
    });
    const checks = byName(await run());
    expect(checks["SES identity"]).toMatchObject({
      status: "fail",
      fix: expect.stringMatching(/verify .* in SES/),
    });
    expect(checks["SES production access"]).toMatchObject({
      status: "fail",
      fix: expect.stringMatching(/production access/),
    });
    expect(checks["SMS origination identity"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/not found/),
    });
    expect(checks["SMS spend limit"]?.status).toBe("warn");
    expect(doctorTable(Object.values(checks))).toMatch(/3 check\(s\) failed/);
  });

  it("reports invalid deployment settings instead of checking the account", async () => {
    const checks = await runDoctor({ env: "prod", context: {} }, clients("us-east-1"));
    expect(checks).toEqual([expect.objectContaining({ check: "deployment settings", status: "fail" })]);
    expect(ses.calls()).toHaveLength(0);
  });
});

describe("tiercast doctor --aws: bootstrap, sign-in and quotas", () => {
  const global = () =>
    runDoctor({ env: "prod", context: { deployment: example("example.json") } }, clients("ap-southeast-1"));
  const china = () =>
    runDoctor({ env: "prod", context: { deployment: example("example.cn.json") } }, clients("cn-north-1"));
  beforeEach(() => {
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    ses.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: true,
      SendQuota: { MaxSendRate: 200, Max24HourSend: 1_000_000 },
    });
    sms.on(DescribePoolsCommand).resolves({ Pools: [{ PoolId: "pool-0123456789abcdef0" } as never] });
    sms.on(DescribeSpendLimitsCommand).resolves({
      SpendLimits: [
        { Name: "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT", EnforcedLimit: 1000, MaxLimit: 1000, Overridden: true },
      ],
    });
  });

  it("passes a complete, recent bootstrap stack, a reachable IdP and enough quota", async () => {
    const checks = byName(await global());
    expect(checks["bootstrap stack"]).toMatchObject({
      status: "pass",
      detail: expect.stringMatching(/version 28/),
    });
    expect(checks["sign-in (IdP)"]?.status).toBe("pass");
    expect(checks["Lambda concurrency"]?.status).toBe("pass");
    expect(checks["SES sending quota"]?.status).toBe("pass");
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: "CDKToolkit" });
  });

  it("fails a missing bootstrap stack with the bootstrap command", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error("Stack with id CDKToolkit does not exist"), { name: "ValidationError" }),
      );
    expect(byName(await global())["bootstrap stack"]).toMatchObject({
      status: "fail",
      detail: "no CDKToolkit stack in ap-southeast-1",
      fix: "npx cdk bootstrap aws://<account>/ap-southeast-1",
    });
  });

  it("fails an old or rolled-back bootstrap stack", async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        { ...healthyBootstrap.Stacks[0], Outputs: [{ OutputKey: "BootstrapVersion", OutputValue: "4" }] },
      ],
    } as never);
    expect(byName(await global())["bootstrap stack"]).toMatchObject({
      status: "fail",
      detail: `CDKToolkit version 4; this app needs ${MIN_BOOTSTRAP_VERSION} or later`,
      fix: expect.stringMatching(/cdk bootstrap/),
    });
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ ...healthyBootstrap.Stacks[0], StackStatus: "UPDATE_ROLLBACK_COMPLETE" }],
    } as never);
    expect(byName(await global())["bootstrap stack"]).toMatchObject({
      status: "fail",
      detail: "CDKToolkit is UPDATE_ROLLBACK_COMPLETE",
    });
  });

  it("fails a Cognito domain that does not resolve, with the fix", async () => {
    http = {};
    expect(byName(await global())["sign-in (IdP)"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/bank-example-tiercast\.auth\.ap-southeast-1\.amazoncognito\.com/),
      fix: expect.stringMatching(/authDomainPrefix/),
    });
  });

  it("fetches the China IdP's discovery document and checks its issuer and keys", async () => {
    const pass = byName(await china())["sign-in (IdP)"];
    expect(pass).toMatchObject({ status: "pass", detail: expect.stringMatching(/jwks/) });
    expect(String(fetchStub.mock.calls.at(-1)?.[0])).toBe(
      "https://sso.bank.example.cn/.well-known/openid-configuration",
    );
    http["https://sso.bank.example.cn/.well-known/openid-configuration"] = () =>
      Response.json({ issuer: "https://other.example.cn", jwks_uri: "https://x/jwks" });
    expect(byName(await china())["sign-in (IdP)"]).toMatchObject({
      status: "fail",
      detail: "the discovery document's issuer is https://other.example.cn, not https://sso.bank.example.cn",
    });
    http = {};
    expect(byName(await china())["sign-in (IdP)"]).toMatchObject({
      status: "fail",
      fix: expect.stringMatching(/reach the IdP/),
    });
  });

  it("fails too little Lambda concurrency and an SES rate below the worker's, each with the quota to raise", async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    ses.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: true,
      SendQuota: { MaxSendRate: 14, Max24HourSend: 50_000 },
    });
    const checks = byName(await global());
    expect(checks["Lambda concurrency"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^10 unreserved of 10; a launch at full rate needs \d+/),
      fix: expect.stringMatching(/Concurrent executions/),
    });
    expect(checks["SES sending quota"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/14\/s .* below the email worker's 100\/s/),
      fix: expect.stringMatching(/sending quota increase/),
    });
  });
});

describe("tiercast doctor --aws, AWS China", () => {
  const run = (extra: Record<string, string>, arns: { smsSecretArn?: string; smtpSecretArn?: string } = {}) =>
    runDoctor(
      { env: "prod", context: { deployment: example("example.cn.json"), ...extra }, ...arns },
      clients("cn-north-1"),
    );

  it("checks the vendor's secret is readable and filled in, and touches no SES or SMS API", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: "arn:aws-cn:secretsmanager:cn-north-1:1:secret:sms" })
      .resolves({ SecretString: JSON.stringify({ accessKeyId: "LTAI5t", accessKeySecret: "k" }) })
      .on(GetSecretValueCommand, { SecretId: "arn:aws-cn:secretsmanager:cn-north-1:1:secret:smtp" })
      .resolves({ SecretString: JSON.stringify({ username: "set-me", password: "generated" }) });
    const checks = byName(
      await run(
        { smsProvider: "aliyun" },
        {
          smsSecretArn: "arn:aws-cn:secretsmanager:cn-north-1:1:secret:sms",
          smtpSecretArn: "arn:aws-cn:secretsmanager:cn-north-1:1:secret:smtp",
        },
      ),
    );
    expect(checks["SMS secret (aliyun)"]?.status).toBe("pass");
    expect(checks["SMTP relay secret"]).toMatchObject({
      status: "fail",
      detail: "readable, but username not set",
    });
    expect(ses.calls()).toHaveLength(0);
    expect(sms.calls()).toHaveLength(0);
  });

  it("fails a secret the caller may not read", async () => {
    secrets.on(GetSecretValueCommand).rejects(notFound("AccessDeniedException"));
    const checks = byName(
      await run({ smsProvider: "tencent", smsAppId: "1400123456" }, { smsSecretArn: "arn:x" }),
    );
    expect(checks["SMS secret (tencent)"]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/AccessDenied/),
    });
  });
});
