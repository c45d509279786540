import { Stack } from "aws-cdk-lib";
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
  /** The SSM parameter with every function's deploy-time settings (infra/settings.ts parameterName). */
  parameterName: string;
}

/** The environment every function shares: where the table is and where the HMAC key is. */
export const dataEnvironment = (data: DataRefs) => ({
  TABLE_NAME: data.table.tableName,
  TIERCAST_SHARDS: "16",
  TIERCAST_SECRET_ARN: data.secret.secretArn,
  TIERCAST_PARAMETERS: data.parameterName,
});

const READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];
const WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem"];

/**
 * What each function does to the table, read from its code: item actions, and the indexes it queries
 * (GSI1/GSI2 the tier indexes, i.e. whole segments of customers; GSI3 the in-flight/due work index;
 * GSI4 the sparse birthday index a care segment reads; GSI5 the sample index the builder's estimate reads;
 * GSI6 the activity-day index an opened- or transacted-within segment reads).
 * A function that starts using another command or index needs it added here (nothing else grants it).
 * `appendsAudit`: it appends audit entries (a conditional put of a free sequence number): the audit
 * writer alone; every other role is denied any write to AUDIT# keys (the API, the scheduler and
 * Finalize append by invoking the writer).
 */
export const TABLE_ACCESS = {
  validate: { actions: [...READ, ...WRITE], indexes: [] },
  decidePage: {
    actions: [...READ, ...WRITE, "dynamodb:BatchWriteItem"],
    indexes: ["GSI1", "GSI2", "GSI4", "GSI6"],
  },
  awaitDispatch: { actions: [...READ, ...WRITE], indexes: ["GSI3"] },
  finalize: { actions: [...READ, ...WRITE], indexes: [] },
  worker: { actions: [...READ, ...WRITE], indexes: [] },
  receipts: { actions: [...READ, ...WRITE, "dynamodb:DeleteItem"], indexes: [] },
  // DeleteItem: its own page intents (RELEASE#INTENTS), once a page is enqueued.
  release: { actions: [...READ, ...WRITE, "dynamodb:DeleteItem"], indexes: ["GSI3"] },
  scheduler: { actions: [...READ, ...WRITE], indexes: [] },
  // The audit writer (functions/audit/writer.ts): reads a trail's head and entries, puts the next one.
  auditWriter: {
    actions: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
    indexes: [],
    appendsAudit: true,
  },
  // Import jobs: reads its job (and, for a branch's job, each row's stored customer), claims and
  // checkpoints it (UpdateItem), and batch-writes customers and rejected lines. Nothing else.
  importWorker: {
    actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
    indexes: [],
  },
  // Dry-run jobs: reads its job and the segment's pages (tier and care indexes) with the contact
  // states, writes its progress and result (DRYRUN# items only, by its code). Nothing else.
  dryRunWorker: {
    actions: [...READ, ...WRITE],
    indexes: ["GSI1", "GSI2", "GSI4", "GSI6"],
  },
  api: {
    actions: [...READ, ...WRITE, "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
    indexes: ["GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6"],
  },
} as const satisfies Record<
  string,
  { actions: readonly string[]; indexes: readonly string[]; appendsAudit?: true }
>;
export type TableAccess = keyof typeof TABLE_ACCESS;

/**
 * Every way to write an item. A transaction (TransactWriteItems) has no action of its own: IAM
 * authorizes each of its puts, updates and deletes as PutItem, UpdateItem and DeleteItem, so the deny
 * covers that path too; PartiQL statements have their own actions.
 */
export const WRITES = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLInsert",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
];

/**
 * The partition keys a function may touch (`dynamodb:LeadingKeys`), where its key space is narrow
 * enough to name; test/integration/leading-keys.test.ts runs each confined core on the embedded runtime
 * and fails on any key outside its list. The others span most of the table's prefixes and are not
 * confined: the page step (customers' profiles and contact state, tier indexes, ledger, in-flight and
 * due work, funnel and performance counters, holdouts, uncontactable lists), the await step (ledger,
 * counters, customers for a vendor's query, message pointers), the channel workers (ledger, contact
 * state, counters, message pointers, RM tasks, salon seats), receipts (events, ledger, counters, contact
 * state, referral codes and rewards, salon seats), the releaser (due work, ledger, its intents), the
 * scheduler (schedules, their runs, campaigns) and the API (everything a person may change).
 */
export const LEADING_KEYS: Partial<Record<TableAccess, string[]>> = {
  // The campaign's record and its versions (CAMP#<id>): binding the launch to a version.
  validate: ["CAMP#*"],
  // The ledger's states (LEDGER#<id>#<shard>) and the campaign's status and summary (CAMP#<id>).
  finalize: ["CAMP#*", "LEDGER#*"],
  // Its job and rejected lines (IMPORT#<job>) and the customers it writes (CUST#<id>).
  importWorker: ["IMPORT#*", "CUST#*"],
  // Trails (AUDIT#<entity>#<id>) and their index (AUDIT#INDEX): nothing else.
  auditWriter: ["AUDIT#*"],
};

/**
 * Grants a function exactly its profile on the table (no Scan, no wildcard), the key to read and write
 * encrypted items, and the HMAC secret; and denies it rewriting the audit log, whatever its code does.
 */
export function grantDataAccess(fn: lambda.Function, data: DataRefs, profile: TableAccess) {
  const access: { actions: readonly string[]; indexes: readonly string[]; appendsAudit?: true } =
    TABLE_ACCESS[profile];
  const leading = LEADING_KEYS[profile];
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...access.actions],
      resources: [data.table.tableArn],
      ...(leading ? { conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": leading } } } : {}),
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
  // The table's key, only through DynamoDB in this region (kms:ViaService): the role cannot use it
  // directly. China's service endpoints end in .com.cn; both forms are listed.
  const region = Stack.of(fn).region;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      resources: [data.key.keyArn],
      conditions: {
        StringEquals: {
          "kms:ViaService": [`dynamodb.${region}.amazonaws.com`, `dynamodb.${region}.amazonaws.com.cn`],
        },
      },
    }),
  );
  data.secret.grantRead(fn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ssm:GetParameters"],
      resources: [
        Stack.of(fn).formatArn({
          service: "ssm",
          resource: "parameter",
          resourceName: data.parameterName.slice(1),
        }),
      ],
    }),
  );
  for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"])
    acknowledge(
      fn.role!,
      `IAM5[Action::${action}]`,
      "CDK's grant on the table's customer-managed key (encrypt/decrypt items).",
    );
}
