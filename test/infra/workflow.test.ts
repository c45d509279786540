import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { buildStacks } from "../../infra/stacks/index.ts";
import { type AslState as State, unsupportedFeatures } from "../../workflows/launch-campaign/lint.ts";
import { synthesizeLaunchAsl, synthesizeShardAsl } from "../../workflows/launch-campaign/synth.ts";
import { testSettings } from "./settings.ts";

const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
const stacks = buildStacks(app, testSettings("dev"));
const workflow = Template.fromStack(stacks.workflow);
const messaging = Template.fromStack(stacks.messaging);
const api = Template.fromStack(stacks.api);
const scheduler = Template.fromStack(stacks.scheduler);
const web = Template.fromStack(stacks.web);
const observability = Template.fromStack(stacks.observability);

describe("launch workflow ASL", () => {
  const asl = synthesizeLaunchAsl() as { States: Record<string, State> };

  it("is committed exactly as CDK synthesizes it (the embedded runtime runs that file)", () => {
    const committed = JSON.parse(
      readFileSync(
        new URL("../../workflows/launch-campaign/launch-campaign.asl.json", import.meta.url),
        "utf8",
      ),
    );
    expect(committed).toEqual(asl);
    const shard = JSON.parse(
      readFileSync(new URL("../../workflows/launch-campaign/launch-shard.asl.json", import.meta.url), "utf8"),
    );
    expect(shard).toEqual(synthesizeShardAsl());
  });

  it("uses only JSONPath, inline Map, direct Lambda tasks and child executions", () => {
    expect(unsupportedFeatures(asl)).toEqual([]);
    expect(unsupportedFeatures(synthesizeShardAsl() as { States: Record<string, State> })).toEqual([]);
  });

  it("rejects a definition that uses what the interpreter lacks", () => {
    expect(
      unsupportedFeatures({
        QueryLanguage: "JSONata",
        States: {
          A: { Type: "Pass", Assign: { x: 1 } },
          B: { Type: "Map", ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED" }, States: {} } },
        },
      }),
    ).toEqual(["JSONata", "A: Variables/Assign", "B: Distributed Map"]);
  });

  it("passes the ASL validator", async () => {
    const { default: validator } = (await import("asl-validator")) as unknown as {
      default: (d: unknown) => { isValid: boolean; errors: unknown[] };
    };
    const result = validator(asl);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("maps over shard tasks with bounded concurrency, a child execution per chunk of pages", () => {
    const map = asl.States.DecideShards as State & { MaxConcurrency: number; ItemsPath: string };
    expect(map.Type).toBe("Map");
    expect(map.ItemsPath).toBe("$.tasks");
    expect(map.MaxConcurrency).toBe(4);
    expect(Object.keys(map.ItemProcessor!.States)).toEqual(
      expect.arrayContaining(["RunShard", "ShardDone?", "NextChunk"]),
    );
    const run = map.ItemProcessor!.States.RunShard as State & {
      Resource: string;
      Parameters: { "Name.$": string };
    };
    expect(run.Resource).toBe("arn:aws:states:::states:startExecution.sync:2");
    // Unique per launch attempt (run id), task and chunk (the page it starts at).
    expect(run.Parameters["Name.$"]).toBe(
      "States.Format('{}-{}-{}-{}', $.run, $.task.tier, $.task.shard, $.pages)",
    );
    const shard = synthesizeShardAsl() as { States: Record<string, State> };
    expect(Object.keys(shard.States)).toEqual(
      expect.arrayContaining(["DecidePage", "MorePages?", "ChunkDone"]),
    );
  });

  it("retries named transient errors and routes every failure to the failure summary", () => {
    const decide = asl.States.Validate as State & {
      Retry: { ErrorEquals: string[] }[];
      Catch: { ErrorEquals: string[]; Next: string }[];
    };
    expect(decide.Retry[0]!.ErrorEquals).toEqual(
      expect.arrayContaining(["ThrottlingError", "Lambda.TooManyRequestsException"]),
    );
    expect(decide.Catch[0]).toMatchObject({ ErrorEquals: ["States.ALL"], Next: "ValidateFailed" });
    expect(asl.States.LaunchFailed!.Type).toBe("Fail");
  });
});

describe("workflow stack", () => {
  it("deploys the launch and its shard workflow, and lets the launch start only that one", () => {
    expect(Object.keys(workflow.findResources("AWS::StepFunctions::StateMachine"))).toHaveLength(2);
    workflow.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "states:StartExecution",
            Resource: Match.objectLike({ Ref: Match.anyValue() }),
          }),
        ]),
      },
    });
  });

  it("lets DecidePage query the birthday index a care segment reads", () => {
    workflow.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Resource: Match.arrayWith([{ "Fn::Join": ["", [Match.anyValue(), "/index/GSI4"]] }]),
          }),
        ]),
      },
    });
  });

  it("deploys the state machine with tracing and full logging", () => {
    workflow.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
    });
  });

  it("feeds each channel worker from its queue with partial batch responses and bounded concurrency", () => {
    const mappings = workflow.findResources("AWS::Lambda::EventSourceMapping");
    expect(Object.keys(mappings)).toHaveLength(4); // 3 channels + receipts
    for (const m of Object.values(mappings) as { Properties: Record<string, unknown> }[]) {
      expect(m.Properties).toMatchObject({
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: expect.any(Number) },
      });
    }
  });

  it("runs Node 24 on arm64 with X-Ray", () => {
    const fns = Object.values(workflow.findResources("AWS::Lambda::Function")) as {
      Properties: Record<string, unknown>;
    }[];
    expect(fns).toHaveLength(9); // 4 launch steps, 3 channel workers, 1 receipts worker, 1 releaser
    for (const f of fns)
      expect(f.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
      });
  });

  it("grants no wildcard actions and only named table indexes", () => {
    const policies = Object.values(workflow.findResources("AWS::IAM::Policy")) as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
    }[];
    for (const p of policies) {
      for (const st of p.Properties.PolicyDocument.Statement) {
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        for (const a of actions) expect(a === "*" || a.endsWith(":*")).toBe(false);
        expect(JSON.stringify(st.Resource)).not.toContain("/index/*");
        if (actions.some((a) => a.startsWith("dynamodb:"))) expect(actions).not.toContain("dynamodb:Scan");
      }
    }
    expect(
      workflow.findResources("AWS::IAM::Role", { Properties: { ManagedPolicyArns: Match.anyValue() } }),
    ).toEqual({});
  });

  it("releases deferred sends on a schedule", () => {
    workflow.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(5 minutes)" });
  });
});

describe("messaging stack", () => {
  it("gives every channel queue and the receipts queue an encrypted DLQ after 5 receives", () => {
    const queues = messaging.findResources("AWS::SQS::Queue", {
      Properties: { RedrivePolicy: Match.anyValue() },
    });
    expect(Object.keys(queues)).toHaveLength(4);
    for (const q of Object.values(queues) as {
      Properties: { RedrivePolicy: { maxReceiveCount: number }; SqsManagedSseEnabled: boolean };
    }[]) {
      expect(q.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it("routes SES and End User Messaging SMS events to the receipts queue through a KMS-encrypted topic", () => {
    messaging.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    messaging.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "sqs", RawMessageDelivery: true });
    messaging.hasResourceProperties("AWS::SES::ConfigurationSetEventDestination", {
      EventDestination: Match.objectLike({
        MatchingEventTypes: Match.arrayWith(["delivery", "open", "click", "bounce", "complaint"]),
        SnsDestination: Match.anyValue(),
      }),
    });
    messaging.hasResourceProperties("AWS::SMSVOICE::ConfigurationSet", {
      EventDestinations: [Match.objectLike({ MatchingEventTypes: Match.arrayWith(["TEXT_DELIVERED"]) })],
    });
  });
});

describe("api stack", () => {
  it("puts a Cognito authorizer on /api/{proxy+} and opens only the public paths", () => {
    const methods = Object.values(api.findResources("AWS::ApiGateway::Method")) as {
      Properties: { AuthorizationType: string; HttpMethod: string };
    }[];
    const secured = methods.filter((m) => m.Properties.AuthorizationType === "COGNITO_USER_POOLS");
    const open = methods.filter(
      (m) => m.Properties.AuthorizationType === "NONE" && m.Properties.HttpMethod !== "OPTIONS",
    );
    expect(secured).toHaveLength(1);
    expect(open).toHaveLength(6); // openapi.json, health, /t, GET and POST /u, /hooks/sms
    api.hasResourceProperties("AWS::Cognito::UserPool", {
      MfaConfiguration: "ON",
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    // One group per role: admin, marketer, approver, analyst, rm, branch_manager.
    expect(Object.keys(api.findResources("AWS::Cognito::UserPoolGroup"))).toHaveLength(6);
  });

  it("throttles the stage, logs access, traces, and puts a WAF with a rate rule in front", () => {
    api.hasResourceProperties("AWS::ApiGateway::Stage", {
      TracingEnabled: true,
      AccessLogSetting: Match.anyValue(),
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 })],
    });
    api.hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "REGIONAL",
      Rules: Match.arrayWith([
        Match.objectLike({
          Statement: {
            RateBasedStatement: Match.objectLike({ Limit: 1000, AggregateKeyType: "FORWARDED_IP" }),
          },
        }),
      ]),
    });
    expect(Object.keys(api.findResources("AWS::WAFv2::WebACLAssociation"))).toHaveLength(1);
  });

  it("denies the API's role any rewrite or delete of the audit log", () => {
    api.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: Match.arrayWith([
              "dynamodb:UpdateItem",
              "dynamodb:DeleteItem",
              "dynamodb:BatchWriteItem",
              "dynamodb:PartiQLUpdate",
              "dynamodb:PartiQLDelete",
            ]),
            Condition: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] } },
          }),
        ]),
      },
    });
  });
});

describe("scheduler, web and observability stacks", () => {
  it("invokes the scheduler function from a schedule group with its own role, and every 5 minutes as a safety net", () => {
    scheduler.hasResourceProperties("AWS::Scheduler::ScheduleGroup", { Name: "tiercast-dev" });
    scheduler.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(5 minutes)" });
  });

  it("serves the console from a private bucket through CloudFront with origin access control", () => {
    web.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
    });
    web.hasResourceProperties("AWS::CloudFront::OriginAccessControl", Match.anyValue());
    web.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        CacheBehaviors: Match.arrayWith([Match.objectLike({ PathPattern: "/api/*" })]),
        Logging: Match.anyValue(),
      }),
    });
  });

  it("has a dashboard of sends by channel and tier, queues, dead letters, launches and the API, with every alarm routed to one topic", () => {
    const dashboards = Object.values(observability.findResources("AWS::CloudWatch::Dashboard")) as {
      Properties: { DashboardBody: unknown };
    }[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
    for (const text of [
      "sends by outcome",
      "funnel: stages reached through receipts",
      "sent by tier",
      "queue depth",
      "age of oldest message",
      "dead letters",
      "launches",
      "API requests",
    ])
      expect(body).toContain(text);
    const alarms = Object.values(observability.findResources("AWS::CloudWatch::Alarm")) as {
      Properties: { AlarmDescription: string; AlarmActions: unknown[] };
    }[];
    expect(alarms.map((a) => a.Properties.AlarmDescription)).toEqual(
      expect.arrayContaining([
        "A Tiercast campaign launch failed",
        "More than 5% of sms sends are failing at the provider",
        "More than 5% of email sends are failing at the provider",
        "Tiercast delivery receipts are dead-lettered",
        "The Tiercast API is answering with server errors",
        "A Tiercast import job was dead-lettered: see GET /api/imports/{jobId}, then start it again",
        "Tiercast import jobs are waiting for a worker",
        "A Tiercast dry run was dead-lettered (it failed 5 times, or its segment does not fit in 15 minutes): see GET /api/dry-runs/{jobId}",
      ]),
    );
    // DLQ + age per channel, receipts DLQ, provider errors ×2, launches, API 5xx, import DLQ + age, dry-run DLQ.
    expect(alarms).toHaveLength(3 * 2 + 1 + 2 + 1 + 1 + 2 + 1);
    for (const a of alarms) expect(a.Properties.AlarmActions).toHaveLength(1);
  });
});
