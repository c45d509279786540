import type { PinpointSMSVoiceV2Client } from "@aws-sdk/client-pinpoint-sms-voice-v2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { UsageError } from "#platform/errors.ts";
import { type Deployment, DeploymentError, isChina, resolveDeployment } from "../infra/deployment.ts";
import { table } from "./output.ts";

/**
 * `tiercast doctor --aws`: read-only checks, with the caller's credentials and region, of what a first
 * launch needs. Each check says what it found and, when it fails, the fix. The SDK clients are passed
 * in (the CLI builds real ones; the tests mock them).
 */

export type CheckStatus = "pass" | "warn" | "fail" | "skip";
export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorClients {
  region: string;
  ses: () => Promise<SESv2Client>;
  sms: () => Promise<PinpointSMSVoiceV2Client>;
  secrets: () => Promise<SecretsManagerClient>;
}

export interface DoctorInput {
  env: "dev" | "prod";
  /** Context keys as `cdk synth` gets them (`deployment` = the settings file). */
  context: Record<string, string>;
  /** The secrets the stacks created (outputs of the first deploy), when known. */
  smsSecretArn?: string;
  smtpSecretArn?: string;
}

const errorName = (err: unknown) => (err as { name?: string }).name ?? "Error";
const errorText = (err: unknown) => `${errorName(err)}: ${(err as Error).message}`;

export async function runDoctor(input: DoctorInput, clients: DoctorClients): Promise<Check[]> {
  const checks: Check[] = [];
  const region = input.context.region ?? clients.region;
  let deployment: Deployment;
  try {
    deployment = resolveDeployment(input.env, (k) => (k === "region" ? region : input.context[k]));
    checks.push({
      check: "deployment settings",
      status: "pass",
      detail: `valid for ${input.env} in ${region}`,
    });
  } catch (err) {
    const problems = err instanceof DeploymentError ? err.problems : [(err as Error).message];
    return [
      {
        check: "deployment settings",
        status: "fail",
        detail: problems.join("; "),
        fix: "fix the file or -c keys",
      },
    ];
  }
  checks.push({
    check: "bootstrap stack",
    status: "skip",
    detail: "not checked: this build has no CloudFormation client",
    fix: `aws cloudformation describe-stacks --stack-name CDKToolkit --region ${region}`,
  });
  if (isChina(region)) await chinaChecks(deployment, input, clients, checks);
  else await globalChecks(deployment, clients, checks, region);
  return checks;
}

async function globalChecks(d: Deployment, clients: DoctorClients, checks: Check[], region: string) {
  checks.push({
    check: "region services",
    status: "pass",
    detail: `${region}: the global profile (Cognito, SES, End User Messaging SMS, CloudFront OAC)`,
  });
  const ses = await import("@aws-sdk/client-sesv2");
  const sesClient = await clients.ses();
  const domain = d.emailFrom.slice(d.emailFrom.indexOf("@") + 1);
  let verified: string | undefined;
  for (const identity of [d.emailFrom, domain]) {
    try {
      const out = await sesClient.send(new ses.GetEmailIdentityCommand({ EmailIdentity: identity }));
      if (out.VerifiedForSendingStatus) {
        verified = identity;
        break;
      }
    } catch (err) {
      if (errorName(err) !== "NotFoundException") {
        checks.push({
          check: "SES identity",
          status: "fail",
          detail: errorText(err),
          fix: "let the caller read SES",
        });
        verified = "";
        break;
      }
    }
  }
  if (verified)
    checks.push({ check: "SES identity", status: "pass", detail: `${verified} verified for sending` });
  else if (verified === undefined)
    checks.push({
      check: "SES identity",
      status: "fail",
      detail: `neither ${d.emailFrom} nor ${domain} is verified for sending`,
      fix: `verify ${domain} in SES (DKIM records in its DNS)`,
    });
  try {
    const account = await sesClient.send(new ses.GetAccountCommand({}));
    checks.push(
      account.ProductionAccessEnabled
        ? { check: "SES production access", status: "pass", detail: "out of the sandbox" }
        : {
            check: "SES production access",
            status: "fail",
            detail: "in the sandbox: only verified recipients receive mail",
            fix: "request production access (SES console, Account dashboard)",
          },
    );
  } catch (err) {
    checks.push({ check: "SES production access", status: "fail", detail: errorText(err) });
  }

  const sms = await import("@aws-sdk/client-pinpoint-sms-voice-v2");
  const smsClient = await clients.sms();
  const id = d.smsOrigination;
  if (!id)
    checks.push({
      check: "SMS origination identity",
      status: "fail",
      detail: "smsOrigination is not set",
      fix: "buy a phone number or sender id in End User Messaging SMS and set -c smsOrigination=…",
    });
  else
    try {
      const pool = id.startsWith("pool-") || id.includes(":pool/");
      const found = pool
        ? ((await smsClient.send(new sms.DescribePoolsCommand({ PoolIds: [id] }))).Pools ?? []).length
        : (
            (await smsClient.send(new sms.DescribePhoneNumbersCommand({ PhoneNumberIds: [id] })))
              .PhoneNumbers ?? []
          ).length;
      checks.push(
        found
          ? { check: "SMS origination identity", status: "pass", detail: `${id} exists` }
          : {
              check: "SMS origination identity",
              status: "fail",
              detail: `${id} not found`,
              fix: "check smsOrigination",
            },
      );
    } catch (err) {
      checks.push({
        check: "SMS origination identity",
        status: "fail",
        detail:
          errorName(err) === "ResourceNotFoundException"
            ? `${id} not found in this account/region`
            : errorText(err),
        fix: "check smsOrigination and the region",
      });
    }
  try {
    const limits = (await smsClient.send(new sms.DescribeSpendLimitsCommand({}))).SpendLimits ?? [];
    const text = limits.find((l) => l.Name === "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT");
    checks.push(
      text && (text.EnforcedLimit ?? 0) > 1
        ? { check: "SMS spend limit", status: "pass", detail: `US$${text.EnforcedLimit} a month` }
        : {
            check: "SMS spend limit",
            status: "warn",
            detail: `US$${text?.EnforcedLimit ?? 0} a month: a campaign stops after a few messages`,
            fix: "request a spend limit increase (Service Quotas / AWS Support)",
          },
    );
  } catch (err) {
    checks.push({ check: "SMS spend limit", status: "fail", detail: errorText(err) });
  }
}

/** A secret's JSON with these fields set to something other than the stack's placeholder. */
async function secretCheck(
  name: string,
  arn: string | undefined,
  fields: string[],
  option: string,
  clients: DoctorClients,
): Promise<Check> {
  if (!arn)
    return { check: name, status: "skip", detail: `not checked: pass ${option} ARN`, fix: `${option} <arn>` };
  const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  try {
    const out = await (await clients.secrets()).send(new GetSecretValueCommand({ SecretId: arn }));
    const value = JSON.parse(out.SecretString ?? "{}") as Record<string, unknown>;
    const missing = fields.filter((f) => typeof value[f] !== "string" || !value[f] || value[f] === "set-me");
    return missing.length
      ? {
          check: name,
          status: "fail",
          detail: `readable, but ${missing.join(", ")} not set`,
          fix: `aws secretsmanager put-secret-value --secret-id ${arn} --secret-string '{${fields.map((f) => `"${f}":"…"`).join(",")}}'`,
        }
      : { check: name, status: "pass", detail: `readable, with ${fields.join(" and ")}` };
  } catch (err) {
    return {
      check: name,
      status: "fail",
      detail: errorText(err),
      fix: "check the ARN and the caller's secretsmanager:GetSecretValue",
    };
  }
}

async function chinaChecks(d: Deployment, input: DoctorInput, clients: DoctorClients, checks: Check[]) {
  const provider = d.smsProvider ?? "http";
  checks.push({
    check: "region services",
    status: "pass",
    detail: `AWS China: no Cognito, SES or End User Messaging SMS; SMS via ${provider === "http" ? "the bank's gateway" : provider}, email via the SMTP relay, sign-in via the bank's IdP`,
  });
  if (provider === "aliyun" || provider === "tencent")
    checks.push(
      await secretCheck(
        `SMS secret (${provider})`,
        input.smsSecretArn,
        provider === "aliyun" ? ["accessKeyId", "accessKeySecret"] : ["secretId", "secretKey"],
        "--sms-secret",
        clients,
      ),
    );
  else
    checks.push({
      check: "SMS gateway",
      status: "skip",
      detail: `${d.smsGatewayUrl}: not probed (no request is sent)`,
    });
  checks.push(
    await secretCheck(
      "SMTP relay secret",
      input.smtpSecretArn,
      ["username", "password"],
      "--smtp-secret",
      clients,
    ),
  );
}

export function doctorTable(checks: Check[]): string {
  const mark: Record<CheckStatus, string> = { pass: "ok", warn: "WARN", fail: "FAIL", skip: "skip" };
  const failed = checks.filter((c) => c.status === "fail").length;
  return [
    table(
      ["check", "status", "detail", "fix"],
      checks.map((c) => [c.check, mark[c.status], c.detail, c.fix ?? ""]),
    ),
    failed ? `${failed} check(s) failed` : "all checks passed",
  ].join("\n");
}

export interface DoctorOptions {
  env: string;
  deployment?: string;
  region?: string;
  smsSecret?: string;
  smtpSecret?: string;
}

/** The checks with real SDK clients: the caller's credentials, the given region or the SDK's default one. */
export async function doctorAws(o: DoctorOptions): Promise<Check[]> {
  const { SESv2Client } = await import("@aws-sdk/client-sesv2");
  const ses = new SESv2Client(o.region ? { region: o.region } : {});
  const region = await ses.config.region().catch(() => "");
  if (!region) throw new UsageError("doctor --aws: no region (pass --region, or set one for the AWS SDK)");
  const context: Record<string, string> = { region, ...(o.deployment ? { deployment: o.deployment } : {}) };
  const clients: DoctorClients = {
    region,
    ses: async () => ses,
    sms: async () =>
      new (await import("@aws-sdk/client-pinpoint-sms-voice-v2")).PinpointSMSVoiceV2Client({ region }),
    secrets: async () =>
      new (await import("@aws-sdk/client-secrets-manager")).SecretsManagerClient({ region }),
  };
  try {
    return await runDoctor(
      {
        env: o.env as "dev" | "prod",
        context,
        ...(o.smsSecret ? { smsSecretArn: o.smsSecret } : {}),
        ...(o.smtpSecret ? { smtpSecretArn: o.smtpSecret } : {}),
      },
      clients,
    );
  } finally {
    ses.destroy();
  }
}
