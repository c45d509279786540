import { RemovalPolicy } from "aws-cdk-lib";

/** Per-environment settings, chosen with `-c env=dev|prod`. */
export interface EnvSettings {
  name: "dev" | "prod";
  removalPolicy: RemovalPolicy;
  pointInTimeRecovery: boolean;
  logRetentionDays: number;
  smsRatePerSecond: number;
  emailRatePerSecond: number;
}

export function settingsFor(env: string | undefined): EnvSettings {
  switch (env ?? "dev") {
    case "dev":
      return {
        name: "dev",
        removalPolicy: RemovalPolicy.DESTROY,
        pointInTimeRecovery: true,
        logRetentionDays: 14,
        smsRatePerSecond: 20,
        emailRatePerSecond: 14,
      };
    case "prod":
      return {
        name: "prod",
        removalPolicy: RemovalPolicy.RETAIN,
        pointInTimeRecovery: true,
        logRetentionDays: 365,
        smsRatePerSecond: 500,
        emailRatePerSecond: 100,
      };
    default:
      throw new Error(`unknown env "${env}": use -c env=dev or -c env=prod`);
  }
}
