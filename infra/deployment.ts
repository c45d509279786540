import { readFileSync } from "node:fs";
import { z } from "zod";

/** Regions whose partition is AWS China (aws-cn): no Cognito, SES, End User Messaging SMS or CloudFront OAC. */
export const CHINA_REGIONS = ["cn-north-1", "cn-northwest-1"] as const;

const https = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const noTrailingSlash = (v: string) => !v.endsWith("/");

/**
 * What only the bank knows at deploy time: sender identities, the public domain of links, the console's
 * address and, in AWS China, the domestic SMS gateway, the SMTP relay and the bank's OIDC IdP. Given as
 * `-c deployment=FILE.json` and/or single context keys (`-c sesFrom=…`), validated at synth with every
 * problem listed. Functions get it through their environment (TIERCAST_CONFIG, SES_FROM, …): nobody
 * edits a function's variables by hand.
 */
export const Deployment = z.object({
  /** Target region; a China region switches to the China profile. Without it the app is region-agnostic. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "not a region name")
    .optional(),
  alarmEmail: z.email().optional(),
  /** Where tracked links, the open pixel and unsubscribe point: the CloudFront (or bank) domain. */
  publicBaseUrl: https.refine(noTrailingSlash, "no trailing slash"),
  /** Where the console is served; the sign-in callback and logout URLs derive from it. */
  consoleUrl: https.refine(noTrailingSlash, "no trailing slash"),
  /** A verified SES identity (global), or the address the bank's SMTP relay sends as (China). */
  emailFrom: z.email(),
  /** Global: End User Messaging SMS origination identity (phone number, pool or sender id, or its ARN). */
  smsOrigination: z.string().min(1).optional(),
  /** Global: prefix of the Cognito hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  authDomainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and hyphens")
    .refine(
      (v) => !/aws|amazon|cognito/.test(v),
      "Cognito refuses prefixes containing aws, amazon or cognito",
    )
    .optional(),
  /** China: the licensed domestic SMS gateway's HTTPS endpoint (the bank's own platform or its adapter). */
  smsGatewayUrl: https.optional(),
  /**
   * China: who sends SMS. `http` (default): the bank's gateway at smsGatewayUrl. `aliyun` / `tencent`:
   * Alibaba Cloud SMS or Tencent Cloud SMS directly, with keys in a Secrets Manager secret the stack creates.
   */
  smsProvider: z.enum(["http", "aliyun", "tencent"]).optional(),
  /** China, aliyun/tencent: the vendor's region (Aliyun RegionId, default cn-hangzhou; Tencent, default ap-guangzhou). */
  smsRegion: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+(-\d)?$/, "not a region name")
    .optional(),
  /** China, tencent: the SmsSdkAppId the templates and signature are registered under. */
  smsAppId: z
    .string()
    .regex(/^\d{10}$/, "Tencent's SmsSdkAppId is 10 digits")
    .optional(),
  /** China, aliyun/tencent: the registered signature (without 【】); default: the config's signature. */
  smsSignName: z.string().min(2).max(20).optional(),
  /** China: the bank's SMTP relay, `smtps://host:465` (credentials live in Secrets Manager, not here). */
  smtpRelayUrl: z
    .url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" })
    .refine((v) => !/\/\/[^/]*@/.test(v), "no credentials in the URL: put them in the SMTP secret")
    .optional(),
  /** China: the bank IdP's OIDC issuer and the audience (client id) its tokens carry. */
  oidcIssuer: https.optional(),
  oidcAudience: z.string().min(1).optional(),
});
export type Deployment = z.infer<typeof Deployment>;

export class DeploymentError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid deployment settings:\n  ${problems.join("\n  ")}`);
    this.name = "DeploymentError";
  }
}

export const isChina = (region: string | undefined) =>
  (CHINA_REGIONS as readonly string[]).includes(region ?? "");

/** Placeholders dev may synthesize with (announced as synth warnings); prod refuses them. */
const DEV_PLACEHOLDERS = {
  publicBaseUrl: "https://links.tiercast-dev.invalid",
  consoleUrl: "https://console.tiercast-dev.invalid",
  emailFrom: "marketing@tiercast-dev.invalid",
} as const;

const CONTEXT_KEYS = [
  "region",
  "alarmEmail",
  "publicBaseUrl",
  "consoleUrl",
  "emailFrom",
  "smsOrigination",
  "authDomainPrefix",
  "smsGatewayUrl",
  "smsProvider",
  "smsRegion",
  "smsAppId",
  "smsSignName",
  "smtpRelayUrl",
  "oidcIssuer",
  "oidcAudience",
] as const;

export interface ResolvedDeployment extends Deployment {
  /** Settings dev fell back to; each becomes a synth warning. */
  placeholders: string[];
}

/**
 * Resolves and validates the deployment settings for an env. `read` looks up a context key (the app
 * passes `app.node.tryGetContext`); `-c deployment=FILE` is read first and single keys override it.
 */
export function resolveDeployment(env: "dev" | "prod", read: (key: string) => unknown): ResolvedDeployment {
  const raw: Record<string, unknown> = {};
  const file = read("deployment");
  if (typeof file === "string" && file) {
    try {
      Object.assign(raw, JSON.parse(readFileSync(file, "utf8")));
    } catch (err) {
      throw new DeploymentError([`deployment: cannot read ${file}: ${(err as Error).message}`]);
    }
  }
  for (const k of CONTEXT_KEYS) {
    const v = read(k);
    if (typeof v === "string" && v !== "") raw[k] = v;
  }
  const placeholders: string[] = [];
  if (env === "dev")
    for (const [k, v] of Object.entries(DEV_PLACEHOLDERS))
      if (raw[k] === undefined) {
        raw[k] = v;
        placeholders.push(k);
      }
  const parsed = Deployment.safeParse(raw);
  const always = ["publicBaseUrl", "consoleUrl", "emailFrom"] as const;
  const problems = [
    ...always.filter((k) => raw[k] === undefined).map((k) => `${k}: required (-c ${k}=…)`),
    ...(parsed.success ? [] : parsed.error.issues)
      .filter(
        (i) => raw[String(i.path[0])] !== undefined || !(always as readonly unknown[]).includes(i.path[0]),
      )
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
  ];
  // Which settings this target needs, checked on the raw input so one run lists every problem.
  const china = isChina(typeof raw.region === "string" ? raw.region : undefined);
  const need = (key: keyof Deployment, why: string) => {
    if (raw[key] === undefined) problems.push(`${key}: required ${why} (-c ${key}=…)`);
  };
  const smsProvider = raw.smsProvider ?? "http";
  if (china) {
    if (smsProvider === "http")
      need("smsGatewayUrl", "in AWS China: SMS goes through a licensed domestic gateway");
    if (smsProvider === "tencent") need("smsAppId", "for Tencent Cloud SMS: the SmsSdkAppId");
    need("smtpRelayUrl", "in AWS China: email goes through the bank's SMTP relay (no SES there)");
    need("oidcIssuer", "in AWS China: the API verifies the bank IdP's tokens (no Cognito there)");
    need("oidcAudience", "in AWS China: the client id the bank IdP puts in its tokens");
  } else if (env === "prod") {
    need("smsOrigination", "for prod: the End User Messaging SMS origination identity");
    need("authDomainPrefix", "for prod: the Cognito hosted sign-in domain prefix");
  } else
    for (const key of ["smsOrigination", "authDomainPrefix"] as const)
      if (raw[key] === undefined) placeholders.push(key);
  if (!china && raw.smsProvider !== undefined)
    problems.push("smsProvider: only in AWS China (elsewhere SMS goes through End User Messaging SMS)");
  if (problems.length) throw new DeploymentError(problems);
  return { ...(parsed.data as Deployment), placeholders };
}
