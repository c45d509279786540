import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

export type Item = Record<string, unknown>;
type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** A conditional write that lost (the item was not in the expected state): an answer, not a failure. */
export const isConditionFailed = (err: unknown) => (err as Error)?.name === "ConditionalCheckFailedException";

/** Runs a conditional write; true when it applied, false when its condition failed; other errors propagate. */
export async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** One conditional update, as its owner builds it (without the table): alone, or in a transaction. */
export interface UpdateParams {
  Key: Item;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
}

/** Applies one update alone: true when it applied, false when its condition failed (see conditional). */
export function updateAlone(repo: Repo, update: UpdateParams): Promise<boolean> {
  return conditional(repo.ddb.send(new UpdateCommand({ TableName: repo.table, ...update })));
}

/** DynamoDB's limit on the items of one transaction. */
export const MAX_TRANSACTION_ITEMS = 100;

/** One conditional put, as its owner builds it (without the table). */
export interface PutParams {
  Item: Item;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
}

export type TransactItem = { Update: UpdateParams } | { Put: PutParams };

/**
 * Writes the items all together or not at all (TransactWriteItems): true when they applied, or,
 * cancelled, one reason per item in order (`ConditionalCheckFailed` for an item whose condition
 * failed, `None` for one that would have applied, or a conflict's or throttle's code); nothing
 * applied then. Other errors propagate. The items must be distinct and at most MAX_TRANSACTION_ITEMS.
 */
export async function writeTogether(repo: Repo, items: TransactItem[]): Promise<true | string[]> {
  if (items.length === 0) return true;
  try {
    await repo.ddb.send(
      new TransactWriteCommand({
        TransactItems: items.map((t) =>
          "Update" in t
            ? { Update: { TableName: repo.table, ...t.Update } }
            : { Put: { TableName: repo.table, ...t.Put } },
        ),
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error)?.name !== "TransactionCanceledException") throw err;
    const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return items.map((_, i) => reasons[i]?.Code ?? "Unknown");
  }
}

/**
 * Applies the updates all together or not at all. True when they applied; false when the transaction
 * was cancelled (a failed condition, a conflict, a throttled item), so none did and judging them one
 * by one is always safe.
 */
export async function updateTogether(repo: Repo, updates: UpdateParams[]): Promise<boolean> {
  return (
    (await writeTogether(
      repo,
      updates.map((Update) => ({ Update })),
    )) === true
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Parallel map with a concurrency bound, preserving order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
) {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** BatchWriteItem in 25s; unprocessed items are retried with backoff until written. */
export async function batchWrite(
  ddb: DynamoDBDocumentClient,
  table: string,
  requests: WriteRequest[],
  concurrency = 4,
) {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
  await mapLimit(chunks, concurrency, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 25 * 2 ** attempt));
      if (attempt > 12)
        throw new Error(`BatchWrite: ${pending.length} items still unprocessed after retries`);
      const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
    }
  });
}

/** BatchGetItem in 100s with retry of unprocessed keys; returns the items found (any order). */
export async function batchGet(
  ddb: DynamoDBDocumentClient,
  table: string,
  keys: Item[],
  concurrency = 4,
  consistent = false,
  /** Only these top-level attributes (names are aliased, so reserved words are fine). */
  attributes?: readonly string[],
) {
  const projection = attributes?.length
    ? {
        ProjectionExpression: attributes.map((_, i) => `#p${i}`).join(", "),
        ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#p${i}`, a])),
      }
    : {};
  const chunks: Item[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  const found: Item[] = [];
  await mapLimit(chunks, concurrency, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 25 * 2 ** attempt));
      if (attempt > 12) throw new Error(`BatchGet: ${pending.length} keys still unprocessed after retries`);
      const out = await ddb.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: { Keys: pending, ConsistentRead: consistent || undefined, ...projection },
          },
        }),
      );
      found.push(...((out.Responses?.[table] as Item[] | undefined) ?? []));
      pending = (out.UnprocessedKeys?.[table]?.Keys as Item[] | undefined) ?? [];
    }
  });
  return found;
}

export class Repo {
  constructor(
    readonly ddb: DynamoDBDocumentClient,
    readonly table: string,
    /** Indexes this table lacks; readers fall back to what it has (see segmentTasks). */
    readonly missingIndexes: ReadonlySet<string> = new Set(),
    /** Multi-item changes go in transactions where they are cheap (Settings.batchedWrites). */
    readonly batchedWrites = false,
  ) {}

  async get<T = Item>(k: Item): Promise<T | undefined> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.table, Key: k, ConsistentRead: true }));
    return out.Item as T | undefined;
  }

  async put(item: Item): Promise<void> {
    await this.ddb.send(new PutCommand({ TableName: this.table, Item: item }));
  }

  async delete(k: Item): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: k }));
  }

  /** Every item of a partition, paged. */
  async *queryAll(
    pk: string,
    options: { indexName?: string; skBeginsWith?: string; skUpTo?: string; pageLimit?: number } = {},
  ) {
    const pkName = options.indexName ? `${options.indexName}PK` : "PK";
    const skName = options.indexName ? `${options.indexName}SK` : "SK";
    let start: Item | undefined;
    do {
      const values: Item = { ":pk": pk };
      let condition = `${pkName} = :pk`;
      if (options.skBeginsWith !== undefined) {
        condition += ` AND begins_with(${skName}, :sk)`;
        values[":sk"] = options.skBeginsWith;
      } else if (options.skUpTo !== undefined) {
        condition += ` AND ${skName} <= :sk`;
        values[":sk"] = options.skUpTo;
      }
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: options.indexName,
          KeyConditionExpression: condition,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
          Limit: options.pageLimit,
        }),
      );
      for (const item of out.Items ?? []) yield item;
      start = out.LastEvaluatedKey;
    } while (start);
  }
}
