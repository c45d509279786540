import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { EnvSettings } from "../settings.ts";
import { acknowledge } from "./nag.ts";

export interface ProjectFunctionProps {
  entry: string;
  handler: string;
  settings: EnvSettings;
  environment?: Record<string, string>;
  timeout?: Duration;
  memorySize?: number;
  description?: string;
}

/** Every Tiercast Lambda: Node 22 on arm64, ESM bundle, X-Ray, JSON logs with retention, Powertools settings. */
export class ProjectFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.settings.removalPolicy,
    });
    // Its own role, allowed to write its own log group only (instead of the broad managed policy).
    this.role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, "Fn", {
      entry: props.entry,
      handler: props.handler,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      role: this.role,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: "tiercast",
        POWERTOOLS_LOG_LEVEL: props.settings.name === "prod" ? "INFO" : "DEBUG",
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: "node22",
        mainFields: ["module", "main"],
        banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
        externalModules: ["@aws-sdk/*"],
      },
    });
    acknowledge(
      this.role,
      "IAM5[Resource::*]",
      "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions.",
    );
  }
}
