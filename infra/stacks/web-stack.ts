import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as deploy from "aws-cdk-lib/aws-s3-deployment";
import type { Construct } from "constructs";
import { acknowledge, nagRegion } from "../constructs/nag.ts";
import type { EnvSettings } from "../settings.ts";

export interface WebStackProps extends StackProps {
  settings: EnvSettings;
  api: apigw.RestApi;
  /** The console's sign-in settings, served as /config.json. */
  signIn: Record<string, string | undefined>;
  /** Header and value CloudFront sends to the API, so the API's WAF admits only traffic that came through it. */
  originVerify: { header: string; value: string };
}

/** The header CloudFront sets from the viewer's own address (whatever the viewer sent under that name). */
export const VIEWER_IP_HEADER = "x-tiercast-viewer-ip";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The console on S3 behind CloudFront (origin access control, private bucket). The API, tracking and
 * webhook paths go to API Gateway through the same distribution, so the console needs no CORS.
 */
export class WebStack extends Stack {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const logs = new s3.Bucket(this, "AccessLogs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(props.settings.logRetentionDays) }],
      removalPolicy: props.settings.removalPolicy,
      autoDeleteObjects: props.settings.name !== "prod",
    });
    acknowledge(logs, "S1", "This is the access-log bucket itself.");
    const bucket = new s3.Bucket(this, "Console", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: "s3/",
      removalPolicy: props.settings.removalPolicy,
      autoDeleteObjects: props.settings.name !== "prod",
    });
    const apiOrigin = new origins.RestApiOrigin(props.api, {
      customHeaders: { [props.originVerify.header]: props.originVerify.value },
    });
    // Behind CloudFront the API's WAF sees edge addresses; this puts the viewer's address in a header
    // the WAF's per-IP rule reads. A viewer cannot forge it: the function overwrites whatever came in.
    // AWS China has no CloudFront Functions: there the WAF falls back to X-Forwarded-For (see the Api stack).
    const viewerIp = props.settings.china
      ? undefined
      : new cloudfront.Function(this, "ViewerIp", {
          runtime: cloudfront.FunctionRuntime.JS_2_0,
          comment: "Forward the viewer IP to the API's WAF",
          code: cloudfront.FunctionCode.fromInline(
            `function handler(event) { event.request.headers["${VIEWER_IP_HEADER}"] = { value: event.viewer.ip }; return event.request; }`,
          ),
        });
    const toApi: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      ...(viewerIp
        ? {
            functionAssociations: [
              { function: viewerIp, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
            ],
          }
        : {}),
    };
    this.distribution = new cloudfront.Distribution(this, "Cdn", {
      defaultRootObject: "index.html",
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: "cloudfront/",
      defaultBehavior: {
        // AWS China's CloudFront has no origin access control: an origin access identity there.
        origin: props.settings.china
          ? origins.S3BucketOrigin.withOriginAccessIdentity(bucket)
          : origins.S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      // No distribution-wide 404 → index.html: it would turn the API's 404s into 200 HTML. The console
      // routes by #hash, so every page it has is index.html anyway.
      additionalBehaviors: { "/api/*": toApi, "/t/*": toApi, "/u": toApi, "/hooks/*": toApi },
    });
    acknowledge(
      this.distribution,
      "CFR1",
      "Bank staff and customers' link clicks come from anywhere the bank serves; geo rules belong to the bank.",
    );
    acknowledge(
      this.distribution,
      "CFR2",
      "The API behind /api/* has its own WAF (regional); the bucket serves static files only.",
    );
    if (props.settings.china)
      acknowledge(
        this.distribution,
        "CFR7",
        "AWS China's CloudFront has no origin access control; an origin access identity keeps the bucket private.",
      );
    acknowledge(
      this.distribution,
      "CFR4",
      "The default CloudFront certificate; a bank attaches its own domain and TLS 1.2+ certificate.",
    );

    // The console is built by Vite at synth time (skipped when asset bundling is off, as in the tests).
    const deployment = new deploy.BucketDeployment(this, "Deploy", {
      destinationBucket: bucket,
      distribution: this.distribution,
      sources: [
        // Where the console signs in (hosted domain, client id, callback), from the Api stack's outputs.
        deploy.Source.jsonData("config.json", { signIn: props.signIn }),
        deploy.Source.asset(`${ROOT}web`, {
          bundling: {
            image: cdkNoDocker,
            local: {
              tryBundle(outputDir: string) {
                execFileSync("npx", ["vite", "build", "--config", "web/vite.config.ts"], {
                  cwd: ROOT,
                  stdio: "inherit",
                });
                cpSync(`${ROOT}web/dist`, outputDir, { recursive: true });
                return true;
              },
            },
          },
        }),
      ],
    });
    // CDK's BucketDeployment custom resource (a singleton Lambda CDK manages) copies the build into the bucket.
    for (const [id, reason] of [
      [
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's BucketDeployment provider role.",
      ],
      ["IAM5[Action::s3:GetObject*]", "CDK's BucketDeployment reads its asset."],
      ["IAM5[Action::s3:GetBucket*]", "CDK's BucketDeployment reads its asset."],
      ["IAM5[Action::s3:List*]", "CDK's BucketDeployment lists the asset and the console bucket."],
      ["IAM5[Action::s3:DeleteObject*]", "CDK's BucketDeployment prunes old console files."],
      ["IAM5[Action::s3:Abort*]", "CDK's BucketDeployment aborts failed uploads."],
      [
        `IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${nagRegion(this)}/*]`,
        "The CDK asset bucket.",
      ],
      [
        `IAM5[Resource::<${this.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        "Every file of the console bucket.",
      ],
      ["IAM5[Resource::*]", "CloudFront invalidation does not support resource-level permissions."],
    ] as const)
      acknowledge(deployment.handlerRole, id, reason);
    // The provider's function is a stack-level singleton; acknowledged on it alone.
    const provider = this.node.children.find((c) => c.node.id.startsWith("Custom::CDKBucketDeployment"));
    if (provider) acknowledge(provider, "L1", "CDK's BucketDeployment provider chooses its runtime.");
  }
}

// Bundling always happens locally (tryBundle); this image is never pulled.
import { DockerImage } from "aws-cdk-lib";

const cdkNoDocker = DockerImage.fromRegistry("public.ecr.aws/docker/library/node:22");
