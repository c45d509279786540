import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as ssm from "aws-cdk-lib/aws-ssm";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import type { Channel } from "../../functions/campaign/schema.ts";
import { launchDefinition, shardDefinition } from "../../workflows/launch-campaign/definition.ts";
import { acknowledge, nagRegion } from "../constructs/nag.ts";
import { ProjectFunction } from "../constructs/project-function.ts";
import {
  type DataRefs,
  dataEnvironment,
  grantDataAccess,
  type TableAccess,
} from "../constructs/table-access.ts";
import { RM_TASK_RATE, workerConcurrency } from "../rates.ts";
import { type EnvSettings, parameterName } from "../settings.ts";
import { useAuditWriter } from "./audit-stack.ts";

export interface WorkflowStackProps extends StackProps {
  settings: EnvSettings;
  data: DataRefs;
  queues: Record<Channel, sqs.IQueue>;
  receipts: sqs.IQueue;
  /** The audit writer Finalize appends the launch's outcome through. */
  auditWriter: lambda.IFunction;
  /** Global only: the configuration sets whose event destinations feed receipts back. */
  sesConfigurationSet?: string;
  smsConfigurationSet?: string;
}

const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The launch state machine, its four steps, the channel workers, the receipts worker and the deferred-send releaser. */
export class WorkflowStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  /** The child workflow: one execution per chunk of pages of a tier×shard task. */
  readonly shardMachine: sfn.StateMachine;
  readonly workers: Record<Channel, lambda.IFunction> = {} as Record<Channel, lambda.IFunction>;
  readonly functions: lambda.IFunction[] = [];

  constructor(scope: Construct, id: string, props: WorkflowStackProps) {
    super(scope, id, props);
    const { settings, data, queues } = props;
    const common = {
      ...dataEnvironment(data),
      SMS_QUEUE_URL: queues.sms.queueUrl,
      EMAIL_QUEUE_URL: queues.email.queueUrl,
      RM_QUEUE_URL: queues["rm-task"].queueUrl,
    };
    const fn = (
      id: string,
      path: string,
      handler: string,
      access: TableAccess,
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
      grantDataAccess(f, data, access);
      this.functions.push(f);
      return f;
    };
    const validate = fn("ValidateFn", "functions/launch/handler.ts", "validate", "validate");
    const decidePage = fn(
      "DecidePageFn",
      "functions/launch/handler.ts",
      "decide",
      "decidePage",
      {},
      Duration.minutes(5),
    );
    const awaitDispatch = fn(
      "AwaitDispatchFn",
      "functions/launch/handler.ts",
      "awaitWorkers",
      "awaitDispatch",
      {
        SWEEP_AFTER_MS: "300000",
      },
    );
    const finalize = fn(
      "FinalizeFn",
      "functions/launch/handler.ts",
      "finalize",
      "finalize",
      {},
      Duration.minutes(5),
    );
    useAuditWriter(finalize, props.auditWriter);
    for (const f of [decidePage, awaitDispatch])
      for (const q of Object.values(queues)) q.grantSendMessages(f);

    const logGroup = new logs.LogGroup(this, "LaunchLogs", {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: settings.removalPolicy,
    });
    this.shardMachine = new sfn.StateMachine(this, "LaunchShard", {
      stateMachineName: `tiercast-${settings.name}-launch-shard`,
      definitionBody: sfn.DefinitionBody.fromChainable(shardDefinition(this, { decidePage })),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.hours(12),
    });
    this.stateMachine = new sfn.StateMachine(this, "Launch", {
      stateMachineName: `tiercast-${settings.name}-launch`,
      definitionBody: sfn.DefinitionBody.fromChainable(
        launchDefinition(
          this,
          { validate, decidePage, awaitDispatch, finalize },
          { shardMachine: this.shardMachine },
        ),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // ALL events for audit, without execution data (payloads carry only ids and counts anyway).
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.hours(24),
    });
    acknowledge(
      this.shardMachine.role,
      `IAM5[Resource::<${this.getLogicalId(decidePage.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      "Step Functions' LambdaInvoke grant covers the function's versions and aliases.",
    );
    acknowledge(
      this.shardMachine.role,
      "IAM5[Resource::*]",
      "X-Ray tracing actions do not support resource-level permissions.",
    );
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
    // startExecution.sync:2 describes and stops the children it starts: executions of the shard machine only.
    const shardName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.getLogicalId(this.shardMachine.node.defaultChild as sfn.CfnStateMachine)}"}]}]}`;
    acknowledge(
      this.stateMachine.role,
      `IAM5[Resource::arn:<AWS::Partition>:states:${nagRegion(this)}:<AWS::AccountId>:execution:${shardName}*]`,
      "The parent describes and stops only the shard machine's executions, whose names it chooses at run time.",
    );
    // One worker per channel; its concurrency is tied to what the provider accepts.
    const rates: Record<Channel, number> = {
      sms: settings.smsRatePerSecond,
      email: settings.emailRatePerSecond,
      "rm-task": RM_TASK_RATE,
    };
    const d = settings.deployment;
    // AWS China: the relay's credentials, which the bank puts here after the first deploy (never in config).
    const smtpSecret = settings.china
      ? new secrets.Secret(this, "SmtpRelayCredentials", {
          description: 'Tiercast SMTP relay credentials: {"username":…,"password":…}',
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ username: "set-me" }),
            generateStringKey: "password",
            excludePunctuation: true,
          },
        })
      : undefined;
    if (smtpSecret)
      acknowledge(
        smtpSecret,
        "SMG4",
        "The bank's relay owns these credentials and rotates them on its side.",
      );
    // AWS China with Alibaba Cloud or Tencent Cloud SMS: the vendor's keys, which the bank puts here
    // after the first deploy; only the SMS worker (to send) and the await step (to ask about a lost
    // answer) may read them.
    const smsVendor = settings.china && d.smsProvider && d.smsProvider !== "http" ? d.smsProvider : undefined;
    const smsSecret = smsVendor
      ? new secrets.Secret(this, "SmsProviderCredentials", {
          description:
            smsVendor === "aliyun"
              ? 'Tiercast Alibaba Cloud SMS keys: {"accessKeyId":…,"accessKeySecret":…}'
              : 'Tiercast Tencent Cloud SMS keys: {"secretId":…,"secretKey":…}',
          generateSecretString: {
            secretStringTemplate: JSON.stringify(
              smsVendor === "aliyun" ? { accessKeyId: "set-me" } : { secretId: "set-me" },
            ),
            generateStringKey: smsVendor === "aliyun" ? "accessKeySecret" : "secretKey",
            excludePunctuation: true,
          },
        })
      : undefined;
    if (smsSecret)
      acknowledge(
        smsSecret,
        "SMG4",
        "The SMS vendor issues these keys and the bank rotates them in the vendor's console.",
      );
    // The senders' deploy-time settings (what the bank chose: gateway, relay, sender, origination) go
    // into a parameter of their own, which only the channel workers read; their environment keeps
    // only which provider and the ARNs of the resources the stacks made.
    const undef = (o: Record<string, string | undefined>) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const providerSettings = settings.china
      ? undef({
          SMTP_URL: d.smtpRelayUrl,
          ...(smsVendor
            ? { SMS_REGION: d.smsRegion, SMS_APP_ID: d.smsAppId, SMS_SIGN_NAME: d.smsSignName }
            : { SMS_ENDPOINT: d.smsGatewayUrl }),
        })
      : undef({ SES_FROM: d.emailFrom, SMS_ORIGINATION: d.smsOrigination });
    const providerParameter = new ssm.StringParameter(this, "ProviderSettings", {
      parameterName: parameterName(settings, "providers"),
      description: "Tiercast channel workers' deploy-time settings (from the deployment config)",
      stringValue: JSON.stringify(providerSettings),
    });
    const providerEnvironment: Record<string, string> = {
      TIERCAST_PARAMETERS: `${parameterName(settings, "config")},${parameterName(settings, "providers")}`,
      ...(settings.china
        ? {
            ...(smsVendor ? { SMS_PROVIDER: smsVendor, SMS_SECRET_ARN: smsSecret!.secretArn } : {}),
            ...(smtpSecret ? { SMTP_SECRET_ARN: smtpSecret.secretArn } : {}),
          }
        : {
            SMS_REPLY_POINTERS: "true",
            ...(props.sesConfigurationSet ? { SES_CONFIGURATION_SET: props.sesConfigurationSet } : {}),
            ...(props.smsConfigurationSet ? { SMS_CONFIGURATION_SET: props.smsConfigurationSet } : {}),
          }),
    };
    // The await step settles a lost answer (`unknown`) by asking the vendor's query API
    // (QuerySendDetails / PullSmsSendStatusByPhoneNumber): it names the vendor and reads its keys too.
    if (smsVendor && smsSecret) {
      for (const [k, v] of Object.entries({
        TIERCAST_PARAMETERS: providerEnvironment.TIERCAST_PARAMETERS!,
        SMS_PROVIDER: smsVendor,
        SMS_SECRET_ARN: smsSecret.secretArn,
      }))
        awaitDispatch.addEnvironment(k, v);
      awaitDispatch.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["ssm:GetParameters"],
          resources: [providerParameter.parameterArn],
        }),
      );
      awaitDispatch.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["secretsmanager:GetSecretValue"],
          resources: [smsSecret.secretArn],
        }),
      );
    }
    for (const channel of Object.keys(queues) as Channel[]) {
      // Each invocation paces itself to its share of the rate; ~10 recipients/message × 10 messages per batch.
      const concurrency = workerConcurrency(rates[channel]);
      const worker = fn(
        `${channel === "rm-task" ? "Rm" : channel === "sms" ? "Sms" : "Email"}Worker`,
        "functions/dispatch/handler.ts",
        "handler",
        "worker",
        {
          MAX_RECEIVE_COUNT: "5",
          LEASE_MS: "300000",
          SEND_CONCURRENCY: String(concurrency),
          ...providerEnvironment,
        },
        Duration.seconds(60),
      );
      worker.addEventSource(
        new SqsEventSource(queues[channel], {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
          maxConcurrency: concurrency,
        }),
      );
      this.workers[channel] = worker;
      worker.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["ssm:GetParameters"],
          resources: [providerParameter.parameterArn],
        }),
      );
      if (channel === "email" && smtpSecret) smtpSecret.grantRead(worker);
      // GetSecretValue on this one secret (its default key is the account's aws/secretsmanager key).
      if (channel === "sms" && smsSecret)
        worker.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["secretsmanager:GetSecretValue"],
            resources: [smsSecret.secretArn],
          }),
        );
      if (channel === "sms" && !settings.china) {
        acknowledge(
          worker.role!,
          `IAM5[Resource::arn:<AWS::Partition>:sms-voice:${nagRegion(this)}:<AWS::AccountId>:*]`,
          "Origination identities and opt-out lists are chosen per bank at deploy time.",
        );
        worker.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["sms-voice:SendTextMessage"],
            resources: [`arn:${this.partition}:sms-voice:${this.region}:${this.account}:*`],
          }),
        );
      }
      if (channel === "email" && !settings.china) {
        // Only the configured sender (its address or its domain identity) and our configuration set.
        const from = settings.deployment.emailFrom;
        const ses = (resource: string) =>
          `arn:${this.partition}:ses:${this.region}:${this.account}:${resource}`;
        worker.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["ses:SendEmail"],
            resources: [
              ses(`identity/${from}`),
              ses(`identity/${from.slice(from.indexOf("@") + 1)}`),
              ...(props.sesConfigurationSet ? [ses(`configuration-set/${props.sesConfigurationSet}`)] : []),
            ],
          }),
        );
      }
    }

    // Delivery receipts, opens, clicks, complaints and replies back from SES and End User Messaging.
    const receipts = fn("ReceiptsWorker", "functions/receipts/handler.ts", "handler", "receipts");
    receipts.addEventSource(
      new SqsEventSource(props.receipts, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: 10,
      }),
    );

    // Deferred sends (quiet hours, waves, RM days) are released every 5 minutes.
    const release = fn(
      "Release",
      "functions/release/handler.ts",
      "handler",
      "release",
      {},
      Duration.minutes(5),
    );
    for (const q of Object.values(queues)) q.grantSendMessages(release);
    // Its own invoke role, so the acknowledgement below sits on that role alone.
    const releaseInvoker = new iam.Role(this, "ReleaseInvoker", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "EventBridge Scheduler invokes the Tiercast deferred-send releaser",
    });
    new scheduler.Schedule(this, "ReleaseSchedule", {
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      target: new targets.LambdaInvoke(release, { role: releaseInvoker }),
      description: "Release deferred Tiercast sends that are due",
    });
    acknowledge(
      releaseInvoker,
      `IAM5[Resource::<${this.getLogicalId(release.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      "The scheduler's invoke grant covers the function's versions.",
    );
  }
}
