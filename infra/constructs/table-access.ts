import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { GSIS } from "../../functions/shared/table.ts";
import { acknowledge } from "./nag.ts";

export interface DataRefs {
  table: dynamodb.ITable;
  key: kms.IKey;
  secret: secrets.ISecret;
}

/** The environment every function shares: where the table is and where the HMAC key is. */
export const dataEnvironment = (data: DataRefs) => ({
  TABLE_NAME: data.table.tableName,
  TIERCAST_SHARDS: "16",
  TIERCAST_SECRET_ARN: data.secret.secretArn,
});

/**
 * Exactly the item operations the code uses, on the table and its named indexes (no Scan, no
 * wildcard), the key to read and write encrypted items, and the HMAC secret.
 */
export function grantDataAccess(fn: lambda.Function, data: DataRefs) {
  fn.addToRolePolicy(
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
      resources: [data.table.tableArn, ...GSIS.map((g) => `${data.table.tableArn}/index/${g.indexName}`)],
    }),
  );
  data.key.grantEncryptDecrypt(fn);
  data.secret.grantRead(fn);
  for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"])
    acknowledge(
      fn.role!,
      `IAM5[Action::${action}]`,
      "CDK's grant on the table's customer-managed key (encrypt/decrypt items).",
    );
}
