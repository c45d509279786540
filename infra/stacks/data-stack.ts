import { Stack, type StackProps } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import * as ssm from "aws-cdk-lib/aws-ssm";
import type { Construct } from "constructs";
import { GSIS, TABLE_KEYS } from "../../functions/platform/table.ts";
import { acknowledge } from "../constructs/nag.ts";
import { type EnvSettings, functionConfig, parameterName } from "../settings.ts";

export interface DataStackProps extends StackProps {
  settings: EnvSettings;
}

/** The single table (customers, campaigns, ledger, events, counters, audit), its key, and the HMAC secret. */
export class DataStack extends Stack {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
  readonly secret: secrets.Secret;
  /** The deploy-time settings every function reads at its first invocation (TIERCAST_PARAMETERS). */
  readonly parameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    this.key = new kms.Key(this, "DataKey", {
      description: "Tiercast customer and campaign data",
      enableKeyRotation: true,
      removalPolicy: props.settings.removalPolicy,
    });
    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.settings.pointInTimeRecovery },
      deletionProtection: props.settings.name === "prod",
      removalPolicy: props.settings.removalPolicy,
      timeToLiveAttribute: "expiresAt",
    });
    this.secret = new secrets.Secret(this, "HmacSecret", {
      description: "Tiercast HMAC key for referral codes, unsubscribe and tracking links, webhooks",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    acknowledge(
      this.secret,
      "SMG4",
      "The HMAC key signs referral codes and links already sent; it is rotated by hand with a grace period (README).",
    );
    // The bank's config as the typed deployment config resolved it: written by CDK, never by hand.
    this.parameter = new ssm.StringParameter(this, "DeploymentSettings", {
      parameterName: parameterName(props.settings, "config"),
      description: "Tiercast deploy-time settings (from the deployment config; redeploy to change)",
      stringValue: JSON.stringify({ TIERCAST_CONFIG: JSON.parse(functionConfig(props.settings)) }),
    });
    for (const gsi of GSIS) {
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.indexName,
        partitionKey: { name: gsi.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: gsi.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
