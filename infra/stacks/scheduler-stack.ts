import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { acknowledge } from "../constructs/nag.ts";
import { ProjectFunction } from "../constructs/project-function.ts";
import { type DataRefs, dataEnvironment, grantDataAccess } from "../constructs/table-access.ts";
import type { EnvSettings } from "../settings.ts";
import { useAuditWriter } from "./audit-stack.ts";

export interface SchedulerStackProps extends StackProps {
  settings: EnvSettings;
  data: DataRefs;
  stateMachine: sfn.IStateMachine;
  auditWriter: lambda.IFunction;
}

/**
 * Recurring and care campaigns. Each Tiercast schedule becomes an EventBridge schedule in this group
 * (created by the API, with the cron and Asia/Shanghai time zone) that invokes the scheduler function;
 * a 5-minute safety net catches any firing missed. Runs are claimed idempotently in the table.
 */
export class SchedulerStack extends Stack {
  readonly fn: lambda.Function;
  readonly group: scheduler.ScheduleGroup;
  readonly invokeRole: iam.Role;

  constructor(scope: Construct, id: string, props: SchedulerStackProps) {
    super(scope, id, props);
    this.fn = new ProjectFunction(this, "Scheduler", {
      entry: fileURLToPath(new URL("../../functions/schedules/handler.ts", import.meta.url)),
      handler: "handler",
      settings: props.settings,
      timeout: Duration.minutes(2),
      environment: {
        ...dataEnvironment(props.data),
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      },
      description: "Runs due Tiercast schedules (recurring and care campaigns)",
    }).fn;
    grantDataAccess(this.fn, props.data, "scheduler");
    useAuditWriter(this.fn, props.auditWriter);
    props.stateMachine.grantStartExecution(this.fn);

    this.group = new scheduler.ScheduleGroup(this, "Group", {
      scheduleGroupName: `tiercast-${props.settings.name}`,
    });
    this.invokeRole = new iam.Role(this, "InvokeRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "EventBridge Scheduler invokes the Tiercast scheduler function",
    });
    this.fn.grantInvoke(this.invokeRole);
    acknowledge(
      this.invokeRole,
      `IAM5[Resource::<${this.getLogicalId(this.fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      "The invoke grant covers the function's versions.",
    );

    new scheduler.Schedule(this, "SafetyNet", {
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      target: new targets.LambdaInvoke(this.fn, { role: this.invokeRole }),
      description: "Run any Tiercast schedule that is due (catches a missed firing)",
    });
  }
}
