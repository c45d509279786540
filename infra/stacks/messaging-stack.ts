import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { Channel } from "../../functions/campaign/schema.ts";
import type { EnvSettings } from "../settings.ts";

export interface MessagingStackProps extends StackProps {
  settings: EnvSettings;
}

export const MAX_RECEIVE_COUNT = 5;
/** Longer than the worker's timeout × batch, as Lambda's event source mapping requires. */
export const VISIBILITY_TIMEOUT = Duration.seconds(360);

/** One dispatch queue per channel, each with a DLQ and an alarm on it. */
export class MessagingStack extends Stack {
  readonly queues: Record<Channel, sqs.Queue>;
  readonly dlqs: Record<Channel, sqs.Queue>;

  constructor(scope: Construct, id: string, props: MessagingStackProps) {
    super(scope, id, props);
    const channels: Channel[] = ["sms", "email", "rm-task"];
    this.queues = {} as Record<Channel, sqs.Queue>;
    this.dlqs = {} as Record<Channel, sqs.Queue>;
    for (const channel of channels) {
      const name = channel === "rm-task" ? "Rm" : channel === "sms" ? "Sms" : "Email";
      const dlq = new sqs.Queue(this, `${name}Dlq`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const queue = new sqs.Queue(this, `${name}Queue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: VISIBILITY_TIMEOUT,
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      });
      new cloudwatch.Alarm(this, `${name}DlqAlarm`, {
        alarmDescription: `Tiercast ${channel} sends are dead-lettered: run \`tiercast dlq list\` / redrive`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      new cloudwatch.Alarm(this, `${name}AgeAlarm`, {
        alarmDescription: `Tiercast ${channel} queue is falling behind`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
        threshold: 1800,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      this.queues[channel] = queue;
      this.dlqs[channel] = dlq;
    }
  }
}
