import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subs from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import type { Channel } from "../../functions/campaign/schema.ts";
import type { EnvSettings } from "../settings.ts";

export interface ObservabilityStackProps extends StackProps {
  settings: EnvSettings;
  queues: Record<Channel, sqs.IQueue>;
  dlqs: Record<Channel, sqs.IQueue>;
  receiptsDlq: sqs.IQueue;
  /** The import-job queue and its DLQ. */
  imports?: { queue: sqs.IQueue; dlq: sqs.IQueue; dryRunDlq?: sqs.IQueue };
  stateMachine: sfn.IStateMachine;
  api: apigw.RestApi;
  tiers: string[];
}

/** The dashboard (funnel-side sends per channel and tier, queues, DLQs, launches, API) and every alarm, routed to one topic. */
export class ObservabilityStack extends Stack {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { queues, dlqs } = props;
    // The alarm topic's own key, usable by CloudWatch only for this account's alarms.
    const key = new kms.Key(this, "AlarmsKey", {
      description: "Tiercast alarm topic",
      enableKeyRotation: true,
      removalPolicy: props.settings.removalPolicy,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        resources: ["*"],
        conditions: {
          StringEquals: { "aws:SourceAccount": this.account },
          ArnLike: {
            "aws:SourceArn": `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*`,
          },
        },
      }),
    );
    this.topic = new sns.Topic(this, "Alarms", {
      masterKey: key,
      enforceSSL: true,
      displayName: "Tiercast alarms",
    });
    if (props.settings.alarmEmail)
      this.topic.addSubscription(new subs.EmailSubscription(props.settings.alarmEmail));
    const alarm = (id: string, p: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...p,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };
    const channels = Object.keys(queues) as Channel[];
    const send = (name: string, dims: Record<string, string>, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({
        namespace: "Tiercast",
        metricName: name,
        dimensionsMap: { ...dims, service: "tiercast" },
        statistic: "Sum",
        period,
      });

    for (const ch of channels) {
      const name = ch === "rm-task" ? "Rm" : ch === "sms" ? "Sms" : "Email";
      alarm(`${name}DlqAlarm`, {
        alarmDescription: `Tiercast ${ch} sends are dead-lettered: run \`tiercast dlq list\` / redrive`,
        metric: dlqs[ch].metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${name}AgeAlarm`, {
        alarmDescription: `Tiercast ${ch} queue is falling behind`,
        metric: queues[ch].metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
        threshold: 1800,
        evaluationPeriods: 3,
      });
    }
    alarm("ReceiptsDlqAlarm", {
      alarmDescription: "Tiercast delivery receipts are dead-lettered",
      metric: props.receiptsDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    if (props.imports?.dryRunDlq)
      alarm("DryRunDlqAlarm", {
        alarmDescription:
          "A Tiercast dry run was dead-lettered (it failed 5 times, or its segment does not fit in 15 minutes): see GET /api/dry-runs/{jobId}",
        metric: props.imports.dryRunDlq.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    if (props.imports) {
      alarm("ImportDlqAlarm", {
        alarmDescription:
          "A Tiercast import job was dead-lettered: see GET /api/imports/{jobId}, then start it again",
        metric: props.imports.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm("ImportAgeAlarm", {
        alarmDescription: "Tiercast import jobs are waiting for a worker",
        metric: props.imports.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
        threshold: 3600,
        evaluationPeriods: 3,
      });
    }
    for (const ch of ["sms", "email"] as Channel[]) {
      alarm(`${ch === "sms" ? "Sms" : "Email"}ProviderErrors`, {
        alarmDescription: `More than 5% of ${ch} sends are failing at the provider`,
        metric: new cloudwatch.MathExpression({
          expression: "100 * (failed + retry) / (sent + failed + retry + 1)",
          usingMetrics: {
            failed: send("failed", { channel: ch }, Duration.minutes(5)),
            retry: send("retry", { channel: ch }, Duration.minutes(5)),
            sent: send("sent", { channel: ch }, Duration.minutes(5)),
          },
          period: Duration.minutes(5),
          label: `${ch} provider error %`,
        }),
        threshold: 5,
        evaluationPeriods: 3,
      });
    }
    alarm("LaunchFailures", {
      alarmDescription: "A Tiercast campaign launch failed",
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("Api5xx", {
      alarmDescription: "The Tiercast API is answering with server errors",
      metric: props.api.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 5,
      evaluationPeriods: 2,
    });

    const board = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `tiercast-${props.settings.name}`,
    });
    board.addWidgets(
      ...channels.map(
        (ch) =>
          new cloudwatch.GraphWidget({
            title: `${ch}: sends by outcome`,
            left: ["sent", "failed", "unknown", "deferred", "excluded", "retry"].map((m) =>
              send(m, { channel: ch }),
            ),
            width: 8,
          }),
      ),
    );
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: "funnel: stages reached through receipts",
        left: ["delivered", "engaged", "responded", "converted"].map(
          (stage) =>
            new cloudwatch.MathExpression({
              expression: `SUM(SEARCH('{Tiercast,channel,service,stage} MetricName="funnel" stage="${stage}"', 'Sum', 300))`,
              label: stage,
              period: Duration.minutes(5),
            }),
        ),
        width: 8,
      }),
      ...(["sent", "deferred", "excluded"] as const).map(
        (m) =>
          new cloudwatch.GraphWidget({
            title: `${m} by tier`,
            left: props.tiers.map((tier) => send(m, { tier })),
            width: 8,
          }),
      ),
    );
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: "queue depth",
        left: [
          ...channels.map((ch) => queues[ch].metricApproximateNumberOfMessagesVisible()),
          ...(props.imports ? [props.imports.queue.metricApproximateNumberOfMessagesVisible()] : []),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "age of oldest message (s)",
        left: channels.map((ch) => queues[ch].metricApproximateAgeOfOldestMessage()),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "dead letters",
        left: [
          ...channels.map((ch) => dlqs[ch].metricApproximateNumberOfMessagesVisible()),
          props.receiptsDlq.metricApproximateNumberOfMessagesVisible(),
          ...(props.imports ? [props.imports.dlq.metricApproximateNumberOfMessagesVisible()] : []),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "launches",
        left: [
          props.stateMachine.metricStarted(),
          props.stateMachine.metricSucceeded(),
          props.stateMachine.metricFailed(),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "API requests and errors",
        left: [props.api.metricCount(), props.api.metricClientError(), props.api.metricServerError()],
        right: [props.api.metricLatency({ statistic: "p99" })],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: "alarms", alarms: this.alarms, width: 8 }),
    );
  }
}
