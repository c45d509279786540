import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import type { Channel } from "../../functions/campaign/schema.ts";
import { GSIS } from "../../functions/shared/table.ts";
import { launchDefinition } from "../../workflows/launch-campaign/definition.ts";
import { acknowledge } from "../constructs/nag.ts";
import { ProjectFunction } from "../constructs/project-function.ts";
import type { EnvSettings } from "../settings.ts";

export interface WorkflowStackProps extends StackProps {
  settings: EnvSettings;
  table: dynamodb.ITable;
  key: kms.IKey;
  queues: Record<Channel, sqs.IQueue>;
  dlqs: Record<Channel, sqs.IQueue>;
}

const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The launch state machine, its four steps, the channel workers and the deferred-send releaser. */
export class WorkflowStack extends Stack {
  readonly stateMachine: sfn.StateMachine;

  /** Sends by outcome and channel, queue depth and age, DLQs, launches; and the provider-error alarm. */
  private dashboard(queues: Record<Channel, sqs.IQueue>, dlqs: Record<Channel, sqs.IQueue>) {
    const channels = Object.keys(queues) as Channel[];
    const send = (name: string, channel: Channel, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({
        namespace: "Tiercast",
        metricName: name,
        dimensionsMap: { channel, service: "tiercast" },
        statistic: "Sum",
        period,
      });
    const board = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `tiercast-${this.stackName}`,
    });
    board.addWidgets(
      ...channels.map(
        (ch) =>
          new cloudwatch.GraphWidget({
            title: `${ch}: sends by outcome`,
            left: ["sent", "failed", "unknown", "deferred", "excluded", "retry"].map((m) => send(m, ch)),
            width: 8,
          }),
      ),
    );
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: "queue depth",
        left: channels.map((ch) => queues[ch].metricApproximateNumberOfMessagesVisible()),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "age of oldest message (s)",
        left: channels.map((ch) => queues[ch].metricApproximateAgeOfOldestMessage()),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "dead letters",
        left: channels.map((ch) => dlqs[ch].metricApproximateNumberOfMessagesVisible()),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "launches",
        left: [
          this.stateMachine.metricSucceeded(),
          this.stateMachine.metricFailed(),
          this.stateMachine.metricStarted(),
        ],
        width: 8,
      }),
    );
    for (const ch of ["sms", "email"] as Channel[]) {
      const rate = new cloudwatch.MathExpression({
        expression: "100 * (failed + retry) / (sent + failed + retry + 1)",
        usingMetrics: {
          failed: send("failed", ch, Duration.minutes(5)),
          retry: send("retry", ch, Duration.minutes(5)),
          sent: send("sent", ch, Duration.minutes(5)),
        },
        period: Duration.minutes(5),
        label: `${ch} provider error %`,
      });
      new cloudwatch.Alarm(this, `${ch === "sms" ? "Sms" : "Email"}ProviderErrors`, {
        alarmDescription: `More than 5% of ${ch} sends are failing at the provider`,
        metric: rate,
        threshold: 5,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }

  constructor(scope: Construct, id: string, props: WorkflowStackProps) {
    super(scope, id, props);
    const { settings, table, queues } = props;
    const secret = new secrets.Secret(this, "HmacSecret", {
      description: "Tiercast HMAC key for referral codes, unsubscribe and tracking links",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const common = {
      TABLE_NAME: table.tableName,
      TIERCAST_SHARDS: "16",
      TIERCAST_SECRET_ARN: secret.secretArn,
      SMS_QUEUE_URL: queues.sms.queueUrl,
      EMAIL_QUEUE_URL: queues.email.queueUrl,
      RM_QUEUE_URL: queues["rm-task"].queueUrl,
      TIERCAST_CONFIG: JSON.stringify({
        sms: { ratePerSecond: settings.smsRatePerSecond },
        email: { ratePerSecond: settings.emailRatePerSecond },
      }),
    };
    const fn = (
      id: string,
      path: string,
      handler: string,
      extra: Record<string, string> = {},
      timeout = Duration.seconds(60),
    ) => {
      const f = new ProjectFunction(this, id, {
        entry: entry(path),
        handler,
        settings,
        environment: { ...common, ...extra },
        timeout,
      }).fn;
      // Exactly the item operations the code uses, on the table and its named indexes (no Scan, no wildcard).
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
          ],
          resources: [table.tableArn, ...GSIS.map((g) => `${table.tableArn}/index/${g.indexName}`)],
        }),
      );
      props.key.grantEncryptDecrypt(f);
      secret.grantRead(f);
      const role = f.role!;
      acknowledge(
        role,
        "IAM5[Action::kms:GenerateDataKey*]",
        "CDK's grant on the table's customer-managed key (encrypt/decrypt items).",
      );
      acknowledge(
        role,
        "IAM5[Action::kms:ReEncrypt*]",
        "CDK's grant on the table's customer-managed key (encrypt/decrypt items).",
      );
      return f;
    };
    const validate = fn("ValidateFn", "functions/launch/handler.ts", "validate");
    const decidePage = fn("DecidePageFn", "functions/launch/handler.ts", "decide", {}, Duration.minutes(5));
    const awaitDispatch = fn("AwaitDispatchFn", "functions/launch/handler.ts", "awaitWorkers", {
      SWEEP_AFTER_MS: "300000",
    });
    const finalize = fn("FinalizeFn", "functions/launch/handler.ts", "finalize", {}, Duration.minutes(5));
    for (const f of [decidePage, awaitDispatch])
      for (const q of Object.values(queues)) q.grantSendMessages(f);

    const logGroup = new logs.LogGroup(this, "LaunchLogs", {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: settings.removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, "Launch", {
      stateMachineName: `tiercast-${settings.name}-launch`,
      definitionBody: sfn.DefinitionBody.fromChainable(
        launchDefinition(this, { validate, decidePage, awaitDispatch, finalize }, { pollSeconds: 30 }),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // ALL events for audit, without execution data (payloads carry only ids and counts anyway).
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.hours(24),
    });
    for (const f of [validate, decidePage, awaitDispatch, finalize])
      acknowledge(
        this.stateMachine.role,
        `IAM5[Resource::<${this.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        "Step Functions' LambdaInvoke grant covers the function's versions and aliases.",
      );
    acknowledge(
      this.stateMachine.role,
      "IAM5[Resource::*]",
      "X-Ray tracing actions do not support resource-level permissions.",
    );
    acknowledge(
      secret,
      "SMG4",
      "The HMAC key signs referral codes and unsubscribe links already sent; it is rotated by hand with a grace period (README).",
    );
    new cloudwatch.Alarm(this, "LaunchFailures", {
      alarmDescription: "A Tiercast campaign launch failed",
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // One worker per channel; its concurrency is tied to what the provider accepts.
    const rates: Record<Channel, number> = {
      sms: settings.smsRatePerSecond,
      email: settings.emailRatePerSecond,
      "rm-task": 50,
    };
    for (const channel of Object.keys(queues) as Channel[]) {
      const worker = fn(
        `${channel === "rm-task" ? "Rm" : channel === "sms" ? "Sms" : "Email"}Worker`,
        "functions/dispatch/handler.ts",
        "handler",
        {
          MAX_RECEIVE_COUNT: "5",
          LEASE_MS: "300000",
        },
        Duration.seconds(60),
      );
      worker.addEventSource(
        new SqsEventSource(queues[channel], {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
          // Each invocation paces itself to the rate; ~10 recipients/message × 10 messages per batch.
          maxConcurrency: Math.max(2, Math.min(1000, Math.ceil(rates[channel] / 50))),
        }),
      );
      if (channel === "sms") {
        acknowledge(
          worker.role!,
          "IAM5[Resource::arn:<AWS::Partition>:sms-voice:<AWS::Region>:<AWS::AccountId>:*]",
          "Origination identities and opt-out lists are chosen per bank at deploy time.",
        );
        worker.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["sms-voice:SendTextMessage"],
            resources: [`arn:${this.partition}:sms-voice:${this.region}:${this.account}:*`],
          }),
        );
      }
      if (channel === "email") {
        acknowledge(
          worker.role!,
          "IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
          "The bank's verified sender identity is configured at deploy time.",
        );
        acknowledge(
          worker.role!,
          "IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/*]",
          "The configuration set carrying event destinations is configured at deploy time.",
        );
        worker.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["ses:SendEmail"],
            resources: [
              `arn:${this.partition}:ses:${this.region}:${this.account}:identity/*`,
              `arn:${this.partition}:ses:${this.region}:${this.account}:configuration-set/*`,
            ],
          }),
        );
      }
    }

    this.dashboard(queues, props.dlqs);

    // Deferred sends (quiet hours, waves, RM days) are released every 5 minutes.
    const release = fn("Release", "functions/release/handler.ts", "handler", {}, Duration.minutes(5));
    for (const q of Object.values(queues)) q.grantSendMessages(release);
    new scheduler.Schedule(this, "ReleaseSchedule", {
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      target: new targets.LambdaInvoke(release, {}),
      description: "Release deferred Tiercast sends that are due",
    });
    acknowledge(
      this,
      `IAM5[Resource::<${this.getLogicalId(release.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      "The scheduler's invoke grant covers the function's versions.",
    );
  }
}
