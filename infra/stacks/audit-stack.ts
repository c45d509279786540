import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { ProjectFunction } from "../constructs/project-function.ts";
import { type DataRefs, dataEnvironment, grantDataAccess } from "../constructs/table-access.ts";
import type { EnvSettings } from "../settings.ts";

export interface AuditStackProps extends StackProps {
  settings: EnvSettings;
  data: DataRefs;
}

/**
 * The audit writer: the one function whose role may put AUDIT# keys (and nothing else: its table
 * grant is confined to them with dynamodb:LeadingKeys). The API, the scheduler and the launch's
 * Finalize step append by invoking it synchronously; their own roles are denied any AUDIT# write.
 * The heads it anchors go to its own log group.
 */
export class AuditStack extends Stack {
  readonly writer: lambda.Function;

  constructor(scope: Construct, id: string, props: AuditStackProps) {
    super(scope, id, props);
    this.writer = new ProjectFunction(this, "AuditWriter", {
      entry: fileURLToPath(new URL("../../functions/audit/handler.ts", import.meta.url)),
      handler: "handler",
      settings: props.settings,
      timeout: Duration.seconds(15),
      memorySize: 512,
      environment: dataEnvironment(props.data),
      description: "Appends Tiercast audit entries (HMAC-chained); the only role that may write AUDIT# keys",
    }).fn;
    grantDataAccess(this.writer, props.data, "auditWriter");
  }
}

/** Lets a function append through the writer: invoke it (the unqualified function only) and know its name. */
export function useAuditWriter(fn: lambda.Function, writer: lambda.IFunction) {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [writer.functionArn] }),
  );
  fn.addEnvironment("AUDIT_WRITER_FUNCTION", writer.functionArn);
}
