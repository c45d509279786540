import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as ses from "aws-cdk-lib/aws-ses";
import * as smsvoice from "aws-cdk-lib/aws-smsvoice";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subs from "aws-cdk-lib/aws-sns-subscriptions";
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

/**
 * One dispatch queue per channel, each with a DLQ; and the way back: SES and End User Messaging
 * SMS event destinations publish to a topic whose subscribed queue feeds the receipts worker.
 */
export class MessagingStack extends Stack {
  readonly queues: Record<Channel, sqs.Queue>;
  readonly dlqs: Record<Channel, sqs.Queue>;
  readonly receipts: sqs.Queue;
  readonly receiptsDlq: sqs.Queue;
  /** Undefined in AWS China, which has neither SES nor End User Messaging SMS. */
  readonly sesConfigurationSetName?: string;
  readonly smsConfigurationSetName?: string;

  constructor(scope: Construct, id: string, props: MessagingStackProps) {
    super(scope, id, props);
    const channels: Channel[] = ["sms", "email", "rm-task"];
    this.queues = {} as Record<Channel, sqs.Queue>;
    this.dlqs = {} as Record<Channel, sqs.Queue>;
    const queue = (name: string, retention: Duration, dlq?: sqs.IQueue) =>
      new sqs.Queue(this, name, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: retention,
        ...(dlq
          ? {
              visibilityTimeout: VISIBILITY_TIMEOUT,
              deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
            }
          : {}),
      });
    for (const channel of channels) {
      const name = channel === "rm-task" ? "Rm" : channel === "sms" ? "Sms" : "Email";
      const dlq = queue(`${name}Dlq`, Duration.days(14));
      this.queues[channel] = queue(`${name}Queue`, Duration.days(4), dlq);
      this.dlqs[channel] = dlq;
    }

    // Receipts: the topic has its own key (not the customer table's), usable only by SES and End User
    // Messaging publishing for this account; the queue subscribes.
    const topicKey = new kms.Key(this, "ReceiptsKey", {
      description: "Tiercast delivery receipts topic",
      enableKeyRotation: true,
      removalPolicy: props.settings.removalPolicy,
    });
    const topic = new sns.Topic(this, "ReceiptsTopic", { masterKey: topicKey, enforceSSL: true });
    this.receiptsDlq = queue("ReceiptsDlq", Duration.days(14));
    this.receipts = queue("ReceiptsQueue", Duration.days(4), this.receiptsDlq);
    topic.addSubscription(new subs.SqsSubscription(this.receipts, { rawMessageDelivery: true }));
    // Each service may use the key only for this account's own configuration set (aws:SourceArn).
    const sources = {
      "ses.amazonaws.com": `arn:${this.partition}:ses:${this.region}:${this.account}:configuration-set/tiercast-${props.settings.name}-email`,
      "sms-voice.amazonaws.com": `arn:${this.partition}:sms-voice:${this.region}:${this.account}:configuration-set/tiercast-${props.settings.name}-sms`,
    };
    for (const [service, sourceArn] of Object.entries(sources)) {
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ["sns:Publish"],
          principals: [new iam.ServicePrincipal(service)],
          resources: [topic.topicArn],
          conditions: { StringEquals: { "aws:SourceAccount": this.account } },
        }),
      );
      topicKey.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
          principals: [new iam.ServicePrincipal(service)],
          resources: ["*"],
          conditions: {
            StringEquals: { "aws:SourceAccount": this.account },
            ArnLike: { "aws:SourceArn": sourceArn },
          },
        }),
      );
    }

    // AWS China: email goes through the bank's SMTP relay and SMS through a domestic gateway, whose
    // receipts come back over the signed webhook (/hooks/sms), so there is nothing to configure here.
    if (props.settings.china) return;
    const sesConfigurationSet = new ses.ConfigurationSet(this, "EmailEvents", {
      configurationSetName: `tiercast-${props.settings.name}-email`,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    this.sesConfigurationSetName = sesConfigurationSet.configurationSetName;
    sesConfigurationSet.addEventDestination("ToReceipts", {
      destination: ses.EventDestination.snsTopic(topic),
      events: [
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.OPEN,
        ses.EmailSendingEvent.CLICK,
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.REJECT,
      ],
    });

    this.smsConfigurationSetName = `tiercast-${props.settings.name}-sms`;
    new smsvoice.CfnConfigurationSet(this, "SmsEvents", {
      configurationSetName: this.smsConfigurationSetName,
      eventDestinations: [
        {
          eventDestinationName: "to-receipts",
          enabled: true,
          matchingEventTypes: [
            "TEXT_DELIVERED",
            "TEXT_BLOCKED",
            "TEXT_CARRIER_BLOCKED",
            "TEXT_CARRIER_UNREACHABLE",
            "TEXT_INVALID",
            "TEXT_SPAM",
            "TEXT_TTL_EXPIRED",
            "TEXT_UNREACHABLE",
            "TEXT_INVALID_MESSAGE",
            "TEXT_PROTECT_BLOCKED",
            // No opt-out event exists: replies (R, TD, 退订) arrive through the number's two-way channel.
          ],
          snsDestination: { topicArn: topic.topicArn },
        },
      ],
    });
  }
}
