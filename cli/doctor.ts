import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { PinpointSMSVoiceV2Client } from "@aws-sdk/client-pinpoint-sms-voice-v2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { UsageError } from "#platform/errors.ts";
import { type Deployment, DeploymentError, isChina, resolveDeployment } from "../infra/deployment.ts";
import { launchConcurrency, PROVIDER_RATES } from "../infra/rates.ts";
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
  cloudformation: () => Promise<CloudFormationClient>;
  lambda: () => Promise<LambdaClient>;
  /** HTTP for the IdP's discovery document (global fetch; the tests give a stub). */
  fetch: typeof fetch;
}

/** What `cdk deploy` of aws-cdk-lib's default synthesizer needs (its MIN_BOOTSTRAP_STACK_VERSION). */
export const MIN_BOOTSTRAP_VERSION = 6;

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
  checks.push(await bootstrapCheck(clients, region));
  if (isChina(region)) await chinaChecks(deployment, input, clients, checks);
  else await globalChecks(deployment, clients, checks, region, input.env);
  checks.push(await idpCheck(deployment, clients, region));
  checks.push(await lambdaConcurrencyCheck(input.env, clients));
  return checks;
}

/** The CDK bootstrap stack (CDKToolkit): there, complete, and new enough for this app's templates. */
async function bootstrapCheck(clients: DoctorClients, region: string): Promise<Check> {
  const check = "bootstrap stack";
  const fix = `npx cdk bootstrap aws://<account>/${region}`;
  const { DescribeStacksCommand } = await import("@aws-sdk/client-cloudformation");
  try {
    const out = await (await clients.cloudformation()).send(
      new DescribeStacksCommand({ StackName: "CDKToolkit" }),
    );
    const stack = out.Stacks?.[0];
    if (!stack) return { check, status: "fail", detail: "CDKToolkit not found", fix };
    const status = stack.StackStatus ?? "";
    const version = Number(stack.Outputs?.find((o) => o.OutputKey === "BootstrapVersion")?.OutputValue);
    if (!/_COMPLETE$/.test(status) || /ROLLBACK|DELETE/.test(status))
      return {
        check,
        status: "fail",
        detail: `CDKToolkit is ${status}`,
        fix: `fix or delete it, then ${fix}`,
      };
    if (!Number.isFinite(version) || version < MIN_BOOTSTRAP_VERSION)
      return {
        check,
        status: "fail",
        detail: `CDKToolkit version ${Number.isFinite(version) ? version : "unknown"}; this app needs ${MIN_BOOTSTRAP_VERSION} or later`,
        fix: `${fix} (upgrades it in place)`,
      };
    return { check, status: "pass", detail: `CDKToolkit version ${version} (${status})` };
  } catch (err) {
    const missing = errorName(err) === "ValidationError" && /does not exist/.test((err as Error).message);
    return missing
      ? { check, status: "fail", detail: `no CDKToolkit stack in ${region}`, fix }
      : {
          check,
          status: "fail",
          detail: errorText(err),
          fix: "let the caller run cloudformation:DescribeStacks",
        };
  }
}

/**
 * The sign-in the console and API depend on. China: the bank IdP's OIDC discovery document, with its
 * issuer and JWKS (what the authorizer fetches). Global: the Cognito hosted domain answers.
 */
async function idpCheck(d: Deployment, clients: DoctorClients, region: string): Promise<Check> {
  const check = "sign-in (IdP)";
  if (isChina(region)) {
    const issuer = d.oidcIssuer!.replace(/\/$/, "");
    const url = `${issuer}/.well-known/openid-configuration`;
    try {
      const res = await clients.fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok)
        return {
          check,
          status: "fail",
          detail: `${url}: HTTP ${res.status}`,
          fix: "check oidcIssuer with the bank's IdP team",
        };
      const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
      if (doc.issuer?.replace(/\/$/, "") !== issuer)
        return {
          check,
          status: "fail",
          detail: `the discovery document's issuer is ${doc.issuer ?? "missing"}, not ${issuer}`,
          fix: "set oidcIssuer to the issuer the IdP puts in its tokens",
        };
      if (!doc.jwks_uri)
        return {
          check,
          status: "fail",
          detail: `${url} has no jwks_uri`,
          fix: "the IdP must publish its signing keys",
        };
      return { check, status: "pass", detail: `${issuer}: discovery and jwks_uri ${doc.jwks_uri}` };
    } catch (err) {
      return {
        check,
        status: "fail",
        detail: `${url}: ${errorText(err)}`,
        fix: "the functions must reach the IdP over HTTPS (network path, proxy, certificate)",
      };
    }
  }
  if (!d.authDomainPrefix)
    return { check, status: "warn", detail: "authDomainPrefix is not set", fix: "-c authDomainPrefix=…" };
  const host = `${d.authDomainPrefix}.auth.${region}.amazoncognito.com`;
  try {
    // The hosted domain exists once the Api stack is deployed; its login page answers (a 4xx without a client id).
    const res = await clients.fetch(`https://${host}/oauth2/authorize`, {
      redirect: "manual",
      signal: AbortSignal.timeout(5000),
    });
    return res.status < 500
      ? { check, status: "pass", detail: `${host} answers (HTTP ${res.status})` }
      : {
          check,
          status: "fail",
          detail: `${host}: HTTP ${res.status}`,
          fix: "check the user pool's domain in Cognito",
        };
  } catch (err) {
    return {
      check,
      status: "fail",
      detail: `${host}: ${errorText(err)}`,
      fix: "deploy the Api stack (it creates the domain), or check authDomainPrefix and the region",
    };
  }
}

/** Unreserved Lambda concurrency for a launch at full rate: every channel worker at its maximum, and the rest. */
async function lambdaConcurrencyCheck(env: "dev" | "prod", clients: DoctorClients): Promise<Check> {
  const check = "Lambda concurrency";
  const need = launchConcurrency(env);
  const { GetAccountSettingsCommand } = await import("@aws-sdk/client-lambda");
  try {
    const out = await (await clients.lambda()).send(new GetAccountSettingsCommand({}));
    const unreserved = out.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
    const total = out.AccountLimit?.ConcurrentExecutions ?? 0;
    return unreserved >= need
      ? {
          check,
          status: "pass",
          detail: `${unreserved} unreserved of ${total}; a launch needs up to ${need}`,
        }
      : {
          check,
          status: "fail",
          detail: `${unreserved} unreserved of ${total}; a launch at full rate needs ${need}`,
          fix: "request an increase of 'Concurrent executions' (Service Quotas, AWS Lambda, L-B99A9384)",
        };
  } catch (err) {
    return {
      check,
      status: "fail",
      detail: errorText(err),
      fix: "let the caller run lambda:GetAccountSettings",
    };
  }
}

async function globalChecks(
  d: Deployment,
  clients: DoctorClients,
  checks: Check[],
  region: string,
  env: "dev" | "prod",
) {
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
    const quota = account.SendQuota;
    const rate = PROVIDER_RATES[env].email;
    checks.push(
      (quota?.MaxSendRate ?? 0) >= rate
        ? {
            check: "SES sending quota",
            status: "pass",
            detail: `${quota?.MaxSendRate}/s and ${quota?.Max24HourSend} a day; the email worker sends at ${rate}/s`,
          }
        : {
            check: "SES sending quota",
            status: "fail",
            detail: `${quota?.MaxSendRate ?? 0}/s (${quota?.Max24HourSend ?? 0} a day) is below the email worker's ${rate}/s: SES throttles every send above it`,
            fix: "request a sending quota increase (SES console, Account dashboard → Request increase)",
          },
    );
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
    cloudformation: async () =>
      new (await import("@aws-sdk/client-cloudformation")).CloudFormationClient({ region }),
    lambda: async () => new (await import("@aws-sdk/client-lambda")).LambdaClient({ region }),
    fetch: globalThis.fetch,
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
