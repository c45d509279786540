import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DeploymentError } from "../../infra/deployment.ts";
import { settingsFor } from "../../infra/settings.ts";
import { buildStacks } from "../../infra/stacks/index.ts";
import { VIEWER_IP_HEADER } from "../../infra/stacks/web-stack.ts";
import { effectiveSettings, testSettings } from "./settings.ts";

const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
const settings = testSettings("prod");
const stacks = buildStacks(app, settings);
const workflow = Template.fromStack(stacks.workflow);
const api = Template.fromStack(stacks.api);
const web = Template.fromStack(stacks.web);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Policy = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: { Ref: string }[] } };
type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> }; Handler?: string } };
const functionsOf = (t: Template) => Object.values(t.findResources("AWS::Lambda::Function")) as Fn[];
const templates = Object.values(stacks).map((s) => Template.fromStack(s).toJSON());
const settingsOf = (f: Fn) => effectiveSettings(templates, f.Properties.Environment?.Variables ?? {});
const configOf = (f: Fn) => JSON.parse(String(settingsOf(f).TIERCAST_CONFIG ?? "{}"));

describe("deploy-time settings", () => {
  it("refuse a prod synth without them, listing every missing one", () => {
    let error: unknown;
    try {
      settingsFor("prod", {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DeploymentError);
    expect((error as DeploymentError).problems.map((p) => p.split(":")[0])).toEqual(
      expect.arrayContaining([
        "publicBaseUrl",
        "consoleUrl",
        "emailFrom",
        "smsOrigination",
        "authDomainPrefix",
      ]),
    );
  });

  it("refuse an http link domain and credentials in the SMTP relay URL", () => {
    expect(() => testSettings("prod", undefined, { publicBaseUrl: "http://go.bank.example" })).toThrow(
      /publicBaseUrl: must be an https/,
    );
    expect(() =>
      testSettings("prod", "cn-north-1", { smtpRelayUrl: "smtps://user:pw@relay.bank.example.cn:465" }),
    ).toThrow(/smtpRelayUrl: no credentials/);
  });

  it("let dev synthesize with placeholders, each named", () => {
    expect(settingsFor("dev", {}).deployment.placeholders).toEqual(
      expect.arrayContaining(["publicBaseUrl", "consoleUrl", "emailFrom", "authDomainPrefix"]),
    );
  });

  it("reach every function: links and unsubscribe on the public domain, the bank's sender", () => {
    const fns = functionsOf(workflow);
    expect(fns.length).toBeGreaterThan(0);
    for (const f of fns) {
      const config = configOf(f);
      expect(config.tracking.baseUrl).toBe("https://go.bank.example");
      expect(config.email.unsubscribeBaseUrl).toBe("https://go.bank.example/u");
      expect(config.email.from).toBe("marketing@mail.bank.example");
    }
  });

  it("give the channel workers the SES sender and the SMS origination identity", () => {
    const workers = functionsOf(workflow).filter((f) => settingsOf(f).SES_FROM !== undefined);
    expect(workers).toHaveLength(3);
    for (const f of workers)
      expect(settingsOf(f)).toMatchObject({
        SES_FROM: "marketing@mail.bank.example",
        SMS_ORIGINATION: "arn:aws:sms-voice:ap-southeast-1:111122223333:pool/pool-0123456789abcdef0",
      });
  });

  it("live in SSM parameters CDK writes, which each function names and alone may read", () => {
    const deployTime = ["TIERCAST_CONFIG", "SES_FROM", "SMS_ORIGINATION", "SMS_ENDPOINT", "SMTP_URL"];
    const fns = Object.values(stacks).flatMap((s) => functionsOf(Template.fromStack(s)));
    const app = fns.filter((f) => f.Properties.Environment?.Variables?.TABLE_NAME !== undefined);
    expect(app).toHaveLength(14);
    for (const f of fns) {
      const vars = f.Properties.Environment?.Variables ?? {};
      expect(Object.keys(vars).filter((k) => deployTime.includes(k))).toEqual([]);
    }
    for (const f of app)
      expect(String(f.Properties.Environment?.Variables?.TIERCAST_PARAMETERS)).toMatch(
        /^\/tiercast\/prod\/config(,\/tiercast\/prod\/providers)?$/,
      );
    Template.fromStack(stacks.data).hasResourceProperties("AWS::SSM::Parameter", {
      Name: "/tiercast/prod/config",
      Type: "String",
    });
    // Each role reads only the parameters its function names, with GetParameters alone.
    const policies = Object.values(stacks).flatMap(
      (s) => Object.values(Template.fromStack(s).findResources("AWS::IAM::Policy")) as Policy[],
    );
    const ssm = policies.flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st) => JSON.stringify(st.Action).includes("ssm:")),
    );
    expect(ssm.length).toBe(14 + 3);
    for (const st of ssm) {
      expect(st.Action).toBe("ssm:GetParameters");
      expect(JSON.stringify(st.Resource)).toMatch(
        /parameter\/tiercast\/prod\/(config|providers)"|ProviderSettings/,
      );
    }
  });
});

describe("console sign-in on AWS", () => {
  it("uses the code flow with the console's own address as callback, on a hosted domain", () => {
    api.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      AllowedOAuthFlows: ["code"],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: ["https://campaigns.bank.example/"],
      LogoutURLs: ["https://campaigns.bank.example/"],
      GenerateSecret: false,
    });
    api.hasResourceProperties("AWS::Cognito::UserPoolDomain", { Domain: "bank-example-tiercast" });
  });

  it("keeps an edited email unverified until proven", () => {
    api.hasResourceProperties("AWS::Cognito::UserPool", {
      UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ["email"] },
    });
  });
});

describe("edge and API", () => {
  it("routes both GET (confirmation page) and POST (RFC 8058 one-click) of /u to the function", () => {
    const [u] = Object.entries(
      api.findResources("AWS::ApiGateway::Resource", { Properties: { PathPart: "u" } }),
    );
    const methods = Object.values(api.findResources("AWS::ApiGateway::Method"))
      .map((m) => m.Properties as { HttpMethod: string; ResourceId: { Ref?: string } })
      .filter((m) => m.ResourceId.Ref === u?.[0])
      .map((m) => m.HttpMethod);
    expect(methods.sort()).toEqual(["GET", "POST"]);
  });

  it("does not rewrite API 404s into the console's index.html", () => {
    const [dist] = Object.values(web.findResources("AWS::CloudFront::Distribution")) as {
      Properties: { DistributionConfig: { CustomErrorResponses?: unknown[] } };
    }[];
    expect(dist?.Properties.DistributionConfig.CustomErrorResponses ?? []).toEqual([]);
  });

  it("rate-limits per viewer IP, which a CloudFront function sets on every API behaviour", () => {
    api.hasResourceProperties("AWS::WAFv2::WebACL", {
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: "rate-per-ip",
          Statement: {
            RateBasedStatement: {
              Limit: settings.wafRequestsPer5Min,
              AggregateKeyType: "FORWARDED_IP",
              ForwardedIPConfig: { HeaderName: VIEWER_IP_HEADER, FallbackBehavior: "MATCH" },
            },
          },
        }),
      ]),
    });
    const [fn] = Object.values(web.findResources("AWS::CloudFront::Function")) as {
      Properties: { FunctionCode: string };
    }[];
    expect(fn?.Properties.FunctionCode).toContain(
      `headers["${VIEWER_IP_HEADER}"] = { value: event.viewer.ip }`,
    );
    const behaviors = (
      Object.values(web.findResources("AWS::CloudFront::Distribution"))[0] as {
        Properties: {
          DistributionConfig: {
            CacheBehaviors: { PathPattern: string; FunctionAssociations?: { EventType: string }[] }[];
          };
        };
      }
    ).Properties.DistributionConfig.CacheBehaviors;
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(["/api/*", "/hooks/*", "/t/*", "/u"]);
    for (const b of behaviors) expect(b.FunctionAssociations?.[0]?.EventType).toBe("viewer-request");
  });

  it("creates the origin-verify secret before the WAF rule that reads it by name", () => {
    const [secretId] = Object.keys(
      api.findResources("AWS::SecretsManager::Secret", {
        Properties: { Name: "tiercast-prod-origin-verify" },
      }),
    );
    const [acl] = Object.values(api.findResources("AWS::WAFv2::WebACL")) as { DependsOn?: string[] }[];
    expect(secretId).toBeDefined();
    expect(acl?.DependsOn ?? []).toContain(secretId);
  });

  it("blocks API requests that did not come through CloudFront (no origin-verify header)", () => {
    api.hasResourceProperties("AWS::WAFv2::WebACL", {
      Rules: Match.arrayWith([
        Match.objectLike({ Name: "via-cloudfront-only", Priority: 0, Action: { Block: {} } }),
      ]),
    });
  });

  it("retains the account-wide API Gateway logging settings when a dev stack is destroyed", () => {
    const devApp = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const dev = Template.fromStack(buildStacks(devApp, testSettings("dev")).api);
    const accounts = Object.values(dev.findResources("AWS::ApiGateway::Account")) as {
      DeletionPolicy?: string;
    }[];
    expect(accounts).toHaveLength(1);
    expect(accounts[0]?.DeletionPolicy).toBe("Retain");
  });
});

describe("least privilege", () => {
  const all = [stacks.audit, stacks.workflow, stacks.scheduler, stacks.imports, stacks.api].map((s) =>
    Template.fromStack(s),
  );
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  /** Each Lambda role's policy statements, by the function's logical id. */
  const byFunction = all.flatMap((t) => {
    const policies = Object.values(t.findResources("AWS::IAM::Policy")) as Policy[];
    return Object.entries(t.findResources("AWS::Lambda::Function")).map(([id, fn]) => {
      const role = (fn.Properties as { Role: { "Fn::GetAtt": [string] } }).Role["Fn::GetAtt"][0];
      const statements = policies
        .filter((p) => p.Properties.Roles.some((r) => r.Ref === role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
      return { id, statements };
    });
  });
  const tableActions = (statements: Statement[]) =>
    statements
      .filter((s) => s.Effect === "Allow")
      .flatMap(actions)
      .filter((a) => a.startsWith("dynamodb:"));

  it("has 14 functions, and no two share one broad grant: only decide, release, await, the dry run and the API query an index", () => {
    const app = byFunction.filter((f) => tableActions(f.statements).length > 0);
    expect(app).toHaveLength(14);
    const indexQueriers = app.filter((f) =>
      f.statements.some((s) => s.Effect === "Allow" && JSON.stringify(s.Resource).includes("/index/")),
    );
    expect(indexQueriers.map((f) => f.id.replace(/Fn[0-9A-F]{8}$/, "")).sort()).toEqual([
      "Api",
      "AwaitDispatch",
      "DecidePage",
      "DryRunWorker",
      "Release",
    ]);
    for (const f of app) expect(tableActions(f.statements)).not.toContain("dynamodb:Scan");
    const deleters = app.filter((f) => tableActions(f.statements).includes("dynamodb:DeleteItem"));
    expect(deleters.map((f) => f.id.replace(/Fn[0-9A-F]{8}$/, "")).sort()).toEqual([
      "Api",
      "ReceiptsWorker",
      "Release",
    ]);
  });

  it("denies every role that can write the table any write to AUDIT# keys; only the audit writer may put", () => {
    const writers = byFunction.filter((f) =>
      tableActions(f.statements).some((a) => ["dynamodb:PutItem", "dynamodb:UpdateItem"].includes(a)),
    );
    expect(writers).toHaveLength(14);
    for (const f of writers) {
      const deny = f.statements.find(
        (s) => s.Effect === "Deny" && JSON.stringify(s.Condition ?? {}).includes("AUDIT#*"),
      );
      expect(deny, f.id).toBeDefined();
      const denied = actions(deny!);
      // Every write path: a transaction's parts are authorized as PutItem/UpdateItem/DeleteItem.
      expect(denied).toEqual(
        expect.arrayContaining([
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:PartiQLInsert",
          "dynamodb:PartiQLUpdate",
          "dynamodb:PartiQLDelete",
        ]),
      );
      expect(deny!.Resource, f.id).toEqual(expect.anything());
      expect(deny!.Condition).toEqual({ "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] } });
      // The audit writer alone; the API, the scheduler and Finalize append by invoking it.
      const appender = /^AuditWriterFn/.test(f.id);
      expect(denied.includes("dynamodb:PutItem"), f.id).toBe(!appender);
    }
  });

  it("confines the audit writer to AUDIT# keys, and lets exactly the API, the scheduler and Finalize invoke it", () => {
    const writer = byFunction.find((f) => f.id.startsWith("AuditWriterFn"));
    expect(writer).toBeDefined();
    const allows = writer!.statements.filter(
      (s) => s.Effect === "Allow" && actions(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(allows).toHaveLength(1);
    expect(actions(allows[0]!).sort()).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]);
    expect(allows[0]!.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] },
    });
    const invokers = byFunction.filter((f) =>
      f.statements.some((s) => s.Effect === "Allow" && actions(s).includes("lambda:InvokeFunction")),
    );
    expect(invokers.map((f) => f.id.replace(/Fn[0-9A-F]{8}$/, "")).sort()).toEqual([
      "Api",
      "Finalize",
      "Scheduler",
    ]);
    for (const f of invokers) {
      const invoke = f.statements.find((s) => actions(s).includes("lambda:InvokeFunction"))!;
      // The writer's ARN alone (a cross-stack import), no wildcard.
      expect(JSON.stringify(invoke.Resource)).toMatch(/AuditWriter/);
      expect(JSON.stringify(invoke.Resource)).not.toContain("*");
    }
    const fns = all.flatMap((t) => Object.entries(t.findResources("AWS::Lambda::Function")));
    const named = fns.filter(([, fn]) =>
      JSON.stringify(fn.Properties.Environment?.Variables ?? {}).includes("AUDIT_WRITER_FUNCTION"),
    );
    expect(named.map(([id]) => id.replace(/Fn[0-9A-F]{8}$/, "")).sort()).toEqual([
      "Api",
      "Finalize",
      "Scheduler",
    ]);
  });

  it("confines the launch's validate and finalize steps to their partitions (dynamodb:LeadingKeys)", () => {
    for (const [prefix, keys] of [
      ["ValidateFn", ["CAMP#*"]],
      ["FinalizeFn", ["CAMP#*", "LEDGER#*"]],
    ] as const) {
      const f = byFunction.find((x) => x.id.startsWith(prefix));
      expect(f, prefix).toBeDefined();
      const allows = f!.statements.filter(
        (s) => s.Effect === "Allow" && actions(s).some((a) => a.startsWith("dynamodb:")),
      );
      expect(allows, prefix).toHaveLength(1);
      expect(allows[0]!.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": keys } });
    }
  });

  it("confines the import worker to its jobs' and the customers' partitions (dynamodb:LeadingKeys)", () => {
    const worker = byFunction.find((f) => f.id.startsWith("ImportWorker"));
    expect(worker).toBeDefined();
    const allows = worker!.statements.filter(
      (s) => s.Effect === "Allow" && actions(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(allows).toHaveLength(1);
    expect(allows[0]!.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["IMPORT#*", "CUST#*"] },
    });
  });

  it("lets every function use the table's key only through DynamoDB (kms:ViaService)", () => {
    const app = byFunction.filter((f) => tableActions(f.statements).length > 0);
    for (const f of app) {
      const kms = f.statements.filter(
        (s) => s.Effect === "Allow" && actions(s).some((a) => a.startsWith("kms:")),
      );
      const onDataKey = kms.filter((s) => JSON.stringify(s.Resource).includes("DataKey"));
      expect(onDataKey, f.id).toHaveLength(1);
      expect(JSON.stringify(onDataKey[0]!.Condition)).toMatch(/"kms:ViaService":\[.*dynamodb\./);
    }
  });

  it("encrypts the customer table, the receipts topic and the alarm topic with three different keys", () => {
    const keyOf = (t: Template, type: string, pick: (p: Record<string, unknown>) => unknown) =>
      JSON.stringify(
        pick((Object.values(t.findResources(type))[0] as { Properties: Record<string, unknown> }).Properties),
      );
    const tableKey = keyOf(
      Template.fromStack(stacks.data),
      "AWS::DynamoDB::Table",
      (p) => p.SSESpecification,
    );
    const receiptsKey = keyOf(
      Template.fromStack(stacks.messaging),
      "AWS::SNS::Topic",
      (p) => p.KmsMasterKeyId,
    );
    const alarmsKey = keyOf(
      Template.fromStack(stacks.observability),
      "AWS::SNS::Topic",
      (p) => p.KmsMasterKeyId,
    );
    expect(tableKey).toContain("DataKey");
    expect(receiptsKey).toContain("ReceiptsKey");
    expect(alarmsKey).toContain("AlarmsKey");
    expect(receiptsKey).not.toContain("Data");
    expect(alarmsKey).not.toContain("Data");
  });

  it("lets services use a topic key only for this account (source conditions)", () => {
    for (const [stack, service] of [
      [stacks.messaging, "ses.amazonaws.com"],
      [stacks.messaging, "sms-voice.amazonaws.com"],
      [stacks.observability, "cloudwatch.amazonaws.com"],
    ] as const)
      Template.fromStack(stack).hasResourceProperties("AWS::KMS::Key", {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: service },
              Condition: Match.objectLike({
                StringEquals: { "aws:SourceAccount": Match.anyValue() },
                ArnLike: { "aws:SourceArn": Match.anyValue() },
              }),
            }),
          ]),
        },
      });
    // And the customer table's key grants no service principal at all.
    const dataKey = Object.values(Template.fromStack(stacks.data).findResources("AWS::KMS::Key"))[0] as {
      Properties: { KeyPolicy: { Statement: { Principal: Record<string, unknown> }[] } };
    };
    expect(dataKey.Properties.KeyPolicy.Statement.filter((s) => "Service" in s.Principal)).toEqual([]);
  });
});
