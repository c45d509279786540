import { RemovalPolicy } from "aws-cdk-lib";

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
}

export function settingsFor(env: string | undefined, alarmEmail?: string): EnvSettings {
  const base = settingsByEnv(env);
  return alarmEmail ? { ...base, alarmEmail } : base;
}

function settingsByEnv(env: string | undefined): EnvSettings {
  switch (env ?? "dev") {
    case "dev":
      return {
        name: "dev",
        removalPolicy: RemovalPolicy.DESTROY,
        pointInTimeRecovery: true,
        logRetentionDays: 14,
        smsRatePerSecond: 20,
        emailRatePerSecond: 14,
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
        smsRatePerSecond: 500,
        emailRatePerSecond: 100,
        apiRateLimit: 200,
        apiBurstLimit: 400,
        wafRequestsPer5Min: 3000,
      };
    default:
      throw new Error(`unknown env "${env}": use -c env=dev or -c env=prod`);
  }
}

/** The bank config the functions get (TIERCAST_CONFIG): the provider rates of this environment. */
export const functionConfig = (settings: EnvSettings) =>
  JSON.stringify({
    sms: { ratePerSecond: settings.smsRatePerSecond },
    email: { ratePerSecond: settings.emailRatePerSecond },
  });
