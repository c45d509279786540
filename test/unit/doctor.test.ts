import { fileURLToPath } from "node:url";
import {
  DescribePoolsCommand,
  DescribeSpendLimitsCommand,
  PinpointSMSVoiceV2Client,
} from "@aws-sdk/client-pinpoint-sms-voice-v2";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type Check, doctorTable, runDoctor } from "../../cli/doctor.ts";

// The check logic with the SDK clients injected and mocked (no local server speaks these APIs).
const ses = mockClient(SESv2Client);
const sms = mockClient(PinpointSMSVoiceV2Client);
const secrets = mockClient(SecretsManagerClient);
const example = (file: string) => fileURLToPath(new URL(`../../infra/deploy/${file}`, import.meta.url));
const clients = (region: string) => ({
  region,
  ses: async () => new SESv2Client({ region }),
  sms: async () => new PinpointSMSVoiceV2Client({ region }),
  secrets: async () => new SecretsManagerClient({ region }),
});
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.check, c]));
const notFound = (name: string) => Object.assign(new Error("not found"), { name });

beforeEach(() => {
  ses.reset();
  sms.reset();
  secrets.reset();
});

describe("tiercast doctor --aws, global", () => {
  const run = () =>
    runDoctor({ env: "prod", context: { deployment: example("example.json") } }, clients("ap-southeast-1"));

  it("passes when SES is verified and out of the sandbox and the origination identity exists", async () => {
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true });
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
    ses.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false });
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
