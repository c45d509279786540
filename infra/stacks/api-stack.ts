import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cognito from "aws-cdk-lib/aws-cognito";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";
import { ROLES } from "../../functions/access/users.ts";
import { acknowledge, nagRegion } from "../constructs/nag.ts";
import { ProjectFunction } from "../constructs/project-function.ts";
import { type DataRefs, dataEnvironment, grantDataAccess } from "../constructs/table-access.ts";
import type { EnvSettings } from "../settings.ts";
import { useAuditWriter } from "./audit-stack.ts";
import { VIEWER_IP_HEADER } from "./web-stack.ts";

const ORIGIN_VERIFY_HEADER = "x-tiercast-origin-verify";

export interface ConsoleSignIn {
  clientId: string;
  /** AWS China: the bank IdP's issuer (the console discovers its endpoints). */
  issuer?: string;
  redirectUri: string;
  authorizeUrl?: string;
  tokenUrl?: string;
  logoutUrl?: string;
}

export interface ApiStackProps extends StackProps {
  settings: EnvSettings;
  data: DataRefs;
  /** The audit writer every audited action appends through. */
  auditWriter: lambda.IFunction;
  stateMachine: sfn.IStateMachine;
  scheduleGroupName: string;
  schedulerRole: iam.IRole;
  schedulerFunction: lambda.IFunction;
  /** Import jobs (the Imports stack): the upload bucket, the queue of job runs, and the API's rights on them. */
  imports: { bucket: s3.IBucket; queue: sqs.IQueue; dryRunQueue: sqs.IQueue; apiPolicy: iam.IManagedPolicy };
}

/**
 * The HTTP API: API Gateway (REST, for WAF and usage throttling) in front of one Lambda with the same
 * router as `tiercast serve`. /api/* needs a Cognito JWT (roles as groups or custom:role, branch as
 * custom:branch); the tracking redirect, pixel, unsubscribe and the signed SMS webhook are public.
 */
export class ApiStack extends Stack {
  readonly api: apigw.RestApi;
  /** What the console needs to sign in (written to its /config.json by the web stack). */
  readonly signIn: ConsoleSignIn;
  readonly fn: lambda.Function;
  readonly originVerify: { header: string; value: string };

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { settings } = props;

    const consoleHome = `${settings.deployment.consoleUrl}/`;
    const auth = settings.china
      ? this.oidcAuth(settings, consoleHome)
      : this.cognitoAuth(settings, consoleHome);
    this.signIn = auth.signIn;

    this.fn = new ProjectFunction(this, "Api", {
      entry: fileURLToPath(new URL("../../functions/api/handler.ts", import.meta.url)),
      handler: "handler",
      settings,
      timeout: Duration.seconds(29),
      environment: {
        ...dataEnvironment(props.data),
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        SCHEDULE_GROUP: props.scheduleGroupName,
        SCHEDULER_ROLE_ARN: props.schedulerRole.roleArn,
        SCHEDULER_FUNCTION_ARN: props.schedulerFunction.functionArn,
        IMPORT_BUCKET: props.imports.bucket.bucketName,
        IMPORT_QUEUE_URL: props.imports.queue.queueUrl,
        DRYRUN_QUEUE_URL: props.imports.dryRunQueue.queueUrl,
      },
      description: "Tiercast HTTP API, tracking redirect and webhooks",
    }).fn;
    grantDataAccess(this.fn, props.data, "api");
    useAuditWriter(this.fn, props.auditWriter);
    props.stateMachine.grantStartExecution(this.fn);
    const scheduleArn = `arn:${this.partition}:scheduler:${this.region}:${this.account}:schedule/${props.scheduleGroupName}/tiercast-*`;
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
        resources: [scheduleArn],
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [props.schedulerRole.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      }),
    );
    acknowledge(
      this.fn.role!,
      `IAM5[Resource::arn:<AWS::Partition>:scheduler:${nagRegion(this)}:<AWS::AccountId>:schedule/${props.scheduleGroupName}/tiercast-*]`,
      "Schedules are created at run time by name, within Tiercast's own group and name prefix.",
    );

    // What import jobs need (presign uploads, see one arrive, start its run), defined beside the bucket.
    this.fn.role!.addManagedPolicy(props.imports.apiPolicy);

    const accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: settings.removalPolicy,
    });
    this.api = new apigw.RestApi(this, "Http", {
      restApiName: `tiercast-${settings.name}`,
      description: "Tiercast campaigns API",
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      // AWS::ApiGateway::Account is one per account and region, shared with every other API there:
      // destroying a dev stack must not take their logging role away.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      binaryMediaTypes: ["image/gif"],
      deployOptions: {
        stageName: "v1",
        tracingEnabled: true,
        throttlingRateLimit: settings.apiRateLimit,
        throttlingBurstLimit: settings.apiBurstLimit,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });
    acknowledge(
      this.api,
      "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      "API Gateway's account-level logging role uses the AWS-managed policy by design.",
    );
    const integration = new apigw.LambdaIntegration(this.fn, { proxy: true });
    // Deeper validation (every field of every body, by the zod schemas) happens in the function.
    const validator = this.api.addRequestValidator("Basic", {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const secured = {
      authorizer: auth.authorizer,
      authorizationType: auth.authorizationType,
      requestValidator: validator,
    };
    const open = { authorizationType: apigw.AuthorizationType.NONE, requestValidator: validator };

    const apiRoot = this.api.root.addResource("api");
    apiRoot.addResource("{proxy+}").addMethod("ANY", integration, secured);
    // Public by design: the OpenAPI document, health, and what customers' phones and mail clients call.
    for (const path of ["openapi.json", "health"])
      apiRoot.addResource(path).addMethod("GET", integration, open);
    this.api.root.addResource("t").addResource("{proxy+}").addMethod("GET", integration, open);
    // GET shows the confirmation page, POST (RFC 8058 one-click, from mail providers) opts out.
    const unsubscribe = this.api.root.addResource("u");
    for (const method of ["GET", "POST"]) unsubscribe.addMethod(method, integration, open);
    const smsHooks = this.api.root.addResource("hooks").addResource("sms");
    smsHooks.addMethod("POST", integration, open);
    // AWS China: the domestic vendor's receipt pushes (unsigned by the vendors; the URL carries a token).
    if (settings.china)
      for (const vendor of ["aliyun", "tencent"])
        smsHooks.addResource(vendor).addMethod("POST", integration, open);
    for (const id of ["APIG4", "COG4"])
      acknowledge(
        this.api,
        id,
        "Only /api/openapi.json, /api/health, the tracking redirect and pixel (/t), unsubscribe (/u), the HMAC-signed SMS webhook (/hooks/sms) and, in AWS China, the SMS vendors' receipt pushes with their URL token (/hooks/sms/aliyun, /hooks/sms/tencent) are open; everything else needs a verified JWT (Cognito, or the bank's OIDC IdP in AWS China).",
      );

    // WAF on the stage: AWS managed common and bad-input rules, and a per-IP rate limit.
    const rule = (name: string, priority: number, group: string): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
    });
    // CloudFront sends this secret header; anything without it went around CloudFront (and its
    // viewer-IP header, which the per-IP rule reads), so it is blocked.
    const originSecretName = `tiercast-${settings.name}-origin-verify`;
    const originSecret = new secrets.Secret(this, "OriginVerify", {
      secretName: originSecretName,
      description: "Header value CloudFront adds to API requests; the API's WAF blocks requests without it",
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    acknowledge(
      originSecret,
      "SMG4",
      "Rotating it means redeploying CloudFront and the WAF together (README); it is not a credential to data.",
    );
    this.originVerify = {
      header: ORIGIN_VERIFY_HEADER,
      value: SecretValue.secretsManager(originSecretName).unsafeUnwrap(),
    };
    const acl = new wafv2.CfnWebACL(this, "Waf", {
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: "tiercast-api",
        sampledRequestsEnabled: true,
      },
      rules: [
        {
          name: "via-cloudfront-only",
          priority: 0,
          action: { block: {} },
          statement: {
            notStatement: {
              statement: {
                byteMatchStatement: {
                  fieldToMatch: { singleHeader: { Name: ORIGIN_VERIFY_HEADER } },
                  positionalConstraint: "EXACTLY",
                  searchString: this.originVerify.value,
                  textTransformations: [{ priority: 0, type: "NONE" }],
                },
              },
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: "via-cloudfront-only",
            sampledRequestsEnabled: true,
          },
        },
        rule("common", 1, "AWSManagedRulesCommonRuleSet"),
        rule("bad-inputs", 2, "AWSManagedRulesKnownBadInputsRuleSet"),
        {
          name: "rate-per-ip",
          priority: 3,
          action: { block: {} },
          // The viewer's address as CloudFront saw it (the connection's is an edge's, shared by many).
          statement: {
            rateBasedStatement: {
              limit: settings.wafRequestsPer5Min,
              aggregateKeyType: "FORWARDED_IP",
              // AWS China has no CloudFront Functions to set it: X-Forwarded-For's first address there,
              // which a client can pre-fill (the rule still sees only traffic that came through CloudFront).
              forwardedIpConfig: {
                headerName: settings.china ? "X-Forwarded-For" : VIEWER_IP_HEADER,
                fallbackBehavior: "MATCH",
              },
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: "rate-per-ip",
            sampledRequestsEnabled: true,
          },
        },
      ],
    });
    // The rule reads the secret by name (a dynamic reference), which makes no dependency by itself.
    acl.node.addDependency(originSecret);
    new wafv2.CfnWebACLAssociation(this, "WafOnApi", {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
  }

  /** Global: a Cognito user pool (roles as groups), its hosted sign-in domain and the console's client. */
  private cognitoAuth(settings: EnvSettings, consoleHome: string) {
    const userPool = new cognito.UserPool(this, "Users", {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      customAttributes: {
        role: new cognito.StringAttribute({ mutable: true }),
        branch: new cognito.StringAttribute({ mutable: true }),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // A changed email stays unverified (and the old one in force) until the user proves the new one.
      autoVerify: { email: true },
      keepOriginal: { email: true },
      removalPolicy: settings.name === "prod" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: settings.name === "prod",
    });
    for (const role of ROLES)
      new cognito.CfnUserPoolGroup(this, `Group-${role}`, {
        userPoolId: userPool.userPoolId,
        groupName: role,
      });
    // The console signs in with the authorization code flow + PKCE (a public client: no secret in a
    // browser) on the hosted domain, and comes back to its own address.
    const client = userPool.addClient("Console", {
      authFlows: { userSrp: true },
      generateSecret: false,
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [consoleHome],
        logoutUrls: [consoleHome],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      // Users cannot write their own role or branch: only admins set them.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      preventUserExistenceErrors: true,
    });
    const prefix = settings.deployment.authDomainPrefix;
    const domain = prefix
      ? userPool.addDomain("SignIn", {
          cognitoDomain: { domainPrefix: prefix },
          managedLoginVersion: cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
        })
      : undefined;
    const base = domain?.baseUrl();
    const signIn: ConsoleSignIn = {
      clientId: client.userPoolClientId,
      redirectUri: consoleHome,
      ...(base
        ? {
            authorizeUrl: `${base}/oauth2/authorize`,
            tokenUrl: `${base}/oauth2/token`,
            logoutUrl: `${base}/logout`,
          }
        : {}),
    };
    acknowledge(userPool, "COG2", "MFA is required (TOTP).");
    const authorizer = new apigw.CognitoUserPoolsAuthorizer(this, "Jwt", { cognitoUserPools: [userPool] });
    return { signIn, authorizer, authorizationType: apigw.AuthorizationType.COGNITO };
  }

  /**
   * AWS China (no Cognito): a TOKEN authorizer verifying the bank IdP's OIDC tokens; the console signs
   * in at that IdP (code flow + PKCE, discovered from its issuer).
   */
  private oidcAuth(settings: EnvSettings, consoleHome: string) {
    const d = settings.deployment;
    const fn = new ProjectFunction(this, "Authorizer", {
      entry: fileURLToPath(new URL("../../functions/auth/handler.ts", import.meta.url)),
      handler: "handler",
      settings,
      timeout: Duration.seconds(10),
      environment: { OIDC_ISSUER: d.oidcIssuer!, OIDC_AUDIENCE: d.oidcAudience! },
      description: "Verifies the bank IdP's OIDC tokens for /api/*",
    }).fn;
    const authorizer = new apigw.TokenAuthorizer(this, "Oidc", {
      handler: fn,
      resultsCacheTtl: Duration.minutes(5),
    });
    const signIn: ConsoleSignIn = {
      clientId: d.oidcAudience!,
      redirectUri: consoleHome,
      issuer: d.oidcIssuer!,
    };
    return { signIn, authorizer, authorizationType: apigw.AuthorizationType.CUSTOM };
  }
}
