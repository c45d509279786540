import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secrets from "aws-cdk-lib/aws-secretsmanager";
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

const READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
const WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem"];

/**
 * What each function does to the table, read from its code: item actions, and the indexes it queries
 * (GSI1/GSI2 the tier indexes, i.e. whole segments of customers; GSI3 the in-flight/due work index;
 * GSI4 the sparse birthday index a care segment reads).
 * A function that starts using another command or index needs it added here (nothing else grants it).
 * `appendsAudit`: it appends audit entries (a conditional put of a free sequence number); every other
 * writer is denied any write to AUDIT# keys.
 */
export const TABLE_ACCESS = {
  validate: { actions: [...READ, ...WRITE], indexes: [] },
  decidePage: { actions: [...READ, ...WRITE, "dynamodb:BatchWriteItem"], indexes: ["GSI1", "GSI2", "GSI4"] },
  awaitDispatch: { actions: [...READ, ...WRITE], indexes: ["GSI3"] },
  finalize: { actions: [...READ, ...WRITE], indexes: [], appendsAudit: true },
  worker: { actions: [...READ, ...WRITE], indexes: [] },
  receipts: { actions: [...READ, ...WRITE, "dynamodb:DeleteItem"], indexes: [] },
  // DeleteItem: its own page intents (RELEASE#INTENTS), once a page is enqueued.
  release: { actions: [...READ, ...WRITE, "dynamodb:DeleteItem"], indexes: ["GSI3"] },
  scheduler: { actions: [...READ, ...WRITE], indexes: [], appendsAudit: true },
  // Import jobs: reads its job (and, for a branch's job, each row's stored customer), claims and
  // checkpoints it (UpdateItem), and batch-writes customers and rejected lines. Nothing else.
  importWorker: {
    actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
    indexes: [],
  },
  api: {
    actions: [...READ, ...WRITE, "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
    indexes: ["GSI1", "GSI2", "GSI3", "GSI4"],
    appendsAudit: true,
  },
} as const satisfies Record<
  string,
  { actions: readonly string[]; indexes: readonly string[]; appendsAudit?: true }
>;
export type TableAccess = keyof typeof TABLE_ACCESS;

const WRITES = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

/**
 * Grants a function exactly its profile on the table (no Scan, no wildcard), the key to read and write
 * encrypted items, and the HMAC secret; and denies it rewriting the audit log, whatever its code does.
 */
export function grantDataAccess(fn: lambda.Function, data: DataRefs, profile: TableAccess) {
  const access: { actions: readonly string[]; indexes: readonly string[]; appendsAudit?: true } =
    TABLE_ACCESS[profile];
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...access.actions],
      resources: [data.table.tableArn],
    }),
  );
  if (access.indexes.length)
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: access.indexes.map((i) => `${data.table.tableArn}/index/${i}`),
      }),
    );
  // The audit log is append-only: an appender may only put (conditionally, in code, and hash-chained);
  // nobody may update, delete or batch-overwrite an entry, and non-appenders may not even put one.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      actions: WRITES.filter((a) => !(access.appendsAudit && a === "dynamodb:PutItem")),
      resources: [data.table.tableArn],
      conditions: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] } },
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
