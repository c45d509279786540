import { RemovalPolicy } from "aws-cdk-lib";
import { isChina, type ResolvedDeployment, resolveDeployment } from "./deployment.ts";
import { PROVIDER_RATES } from "./rates.ts";

/** Per-environment settings, chosen with `-c env=dev|prod`. */
export interface EnvSettings {
  name: "dev" | "prod";
  removalPolicy: RemovalPolicy;
  pointInTimeRecovery: boolean;
  logRetentionDays: number;
  smsRatePerSecond: number;
  emailRatePerSecond: number;
  /** API Gateway stage throttling (steady requests/s and burst). */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** WAF rate-based rule: requests per 5 minutes from one IP before it is blocked. */
  wafRequestsPer5Min: number;
  /** Where alarms go (`-c alarmEmail=ops@bank.example`); without it they still show on the dashboard. */
  alarmEmail?: string;
  /** The bank's deploy-time settings (infra/deployment.ts), validated. */
  deployment: ResolvedDeployment;
  /** The target region when given (`-c region=`); the China profile when it is cn-north-1 or cn-northwest-1. */
  region?: string;
  china: boolean;
}

/**
 * Settings for `-c env=dev|prod`; `context` reads the other context keys (the app passes
 * `app.node.tryGetContext`, tests a map). Throws DeploymentError listing every missing or invalid setting.
 */
export function settingsFor(
  env: string | undefined,
  context: Record<string, string> | ((key: string) => unknown) = {},
): EnvSettings {
  const read = typeof context === "function" ? context : (k: string) => context[k];
  const base = settingsByEnv(env);
  const deployment = resolveDeployment(base.name, read);
  return {
    ...base,
    deployment,
    china: isChina(deployment.region),
    ...(deployment.region ? { region: deployment.region } : {}),
    ...(deployment.alarmEmail ? { alarmEmail: deployment.alarmEmail } : {}),
  };
}

type BaseSettings = Omit<EnvSettings, "deployment" | "region" | "china" | "alarmEmail">;

function settingsByEnv(env: string | undefined): BaseSettings {
  switch (env ?? "dev") {
    case "dev":
      return {
        name: "dev",
        removalPolicy: RemovalPolicy.DESTROY,
        pointInTimeRecovery: true,
        logRetentionDays: 14,
        smsRatePerSecond: PROVIDER_RATES.dev.sms,
        emailRatePerSecond: PROVIDER_RATES.dev.email,
        apiRateLimit: 20,
        apiBurstLimit: 40,
        wafRequestsPer5Min: 1000,
      };
    case "prod":
      return {
        name: "prod",
        removalPolicy: RemovalPolicy.RETAIN,
        pointInTimeRecovery: true,
        logRetentionDays: 365,
        smsRatePerSecond: PROVIDER_RATES.prod.sms,
        emailRatePerSecond: PROVIDER_RATES.prod.email,
        apiRateLimit: 200,
        apiBurstLimit: 400,
        wafRequestsPer5Min: 3000,
      };
    default:
      throw new Error(`unknown env "${env}": use -c env=dev or -c env=prod`);
  }
}

/**
 * The SSM parameter holding deploy-time settings (`config`: every function's; `providers`: the channel
 * workers'). A fixed name, so a function's environment names it literally (TIERCAST_PARAMETERS).
 */
export const parameterName = (settings: Pick<EnvSettings, "name">, which: "config" | "providers") =>
  `/tiercast/${settings.name}/${which}`;

/**
 * The bank config the functions get (TIERCAST_CONFIG, in the `config` parameter): this environment's provider rates, sender and
 * the public domain every tracked link, pixel and unsubscribe link points at.
 */
export const functionConfig = (settings: EnvSettings) => {
  const d = settings.deployment;
  return JSON.stringify({
    sms: {
      ratePerSecond: settings.smsRatePerSecond,
      // A domestic vendor sends only registered templates: the API refuses SMS variants without a code.
      ...(settings.china && (d.smsProvider === "aliyun" || d.smsProvider === "tencent")
        ? { vendor: d.smsProvider }
        : {}),
    },
    email: {
      ratePerSecond: settings.emailRatePerSecond,
      from: d.emailFrom,
      unsubscribeBaseUrl: `${d.publicBaseUrl}/u`,
    },
    tracking: { baseUrl: d.publicBaseUrl },
  });
};
