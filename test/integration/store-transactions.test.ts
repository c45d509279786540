import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AWS } from "#local/aws.ts";
import { ensureTable, type LocalDynamo, startDynamo } from "#local/dynamo.ts";

// The embedded store's TransactWriteItems (local/dynalite-transactions.cjs): all or nothing, with
// DynamoDB's cancellation reasons, serialized against single-item writes on the same items.
const TABLE = "tx-test";
let store: LocalDynamo;
let client: DynamoDBClient;

const k = (pk: string) => ({ PK: { S: pk }, SK: { S: "X" } });
const get = async (pk: string) =>
  (await client.send(new GetItemCommand({ TableName: TABLE, Key: k(pk), ConsistentRead: true }))).Item;
const n = async (pk: string) => Number((await get(pk))?.n?.N ?? "NaN");
const take = (pk: string, by = 1): TransactWriteItem => ({
  Update: {
    TableName: TABLE,
    Key: k(pk),
    UpdateExpression: "ADD n :minus",
    ConditionExpression: "n >= :by",
    ExpressionAttributeValues: { ":minus": { N: String(-by) }, ":by": { N: String(by) } },
  },
});
const give = (pk: string, by = 1): TransactWriteItem => ({
  Update: {
    TableName: TABLE,
    Key: k(pk),
    UpdateExpression: "ADD n :by",
    ExpressionAttributeValues: { ":by": { N: String(by) } },
  },
});

async function cancelled(items: TransactWriteItem[]) {
  try {
    await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    return undefined;
  } catch (err) {
    if (err instanceof TransactionCanceledException) return err;
    throw err;
  }
}

describe("the embedded store's transactions", () => {
  beforeAll(async () => {
    store = await startDynamo(undefined);
    await ensureTable(store.endpoint, TABLE);
    client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: store.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await store?.stop();
  });

  it("applies puts, updates, deletes and checks together, with their index entries", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("gone"), n: { N: "1" } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("a"), n: { N: "5" } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("check"), n: { N: "7" } } }));
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          take("a", 2),
          {
            Put: {
              TableName: TABLE,
              Item: { ...k("new"), n: { N: "2" }, GSI1PK: { S: "IDX" }, GSI1SK: { S: "new" } },
              ConditionExpression: "attribute_not_exists(PK)",
            },
          },
          { Delete: { TableName: TABLE, Key: k("gone") } },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: k("check"),
              ConditionExpression: "attribute_exists(n)",
            },
          },
        ],
      }),
    );
    expect(await n("a")).toBe(3);
    expect(await n("new")).toBe(2);
    expect(await get("gone")).toBeUndefined();
    const indexed = await client.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :p",
        ExpressionAttributeValues: { ":p": { S: "IDX" } },
      }),
    );
    expect(indexed.Items?.map((i) => i.PK?.S)).toEqual(["new"]);
  });

  it("writes nothing when one condition fails, and says which, in order (with the old item if asked)", async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("b"), n: { N: "1" } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("c"), n: { N: "0" } } }));
    const err = await cancelled([
      take("b"),
      { Update: { ...take("c").Update!, ReturnValuesOnConditionCheckFailure: "ALL_OLD" } },
      give("e"),
    ]);
    expect(err?.CancellationReasons?.map((r) => r.Code)).toEqual(["None", "ConditionalCheckFailed", "None"]);
    expect(await get("e")).toBeUndefined();
    expect(err?.CancellationReasons?.[1]?.Item?.n).toEqual({ N: "0" });
    expect(await n("b")).toBe(1);
    expect(await n("c")).toBe(0);
  });

  it("refuses two operations on one item, as DynamoDB does", async () => {
    await expect(
      client.send(new TransactWriteItemsCommand({ TransactItems: [give("d"), give("d")] })),
    ).rejects.toThrow(/multiple operations on one item/);
    expect(await get("d")).toBeUndefined();
  });

  it("never interleaves with another transaction or a single write on the same items", async () => {
    // 30 units; 60 transfers a→z race 40 single takes from a: every unit is taken once, none twice.
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("from"), n: { N: "30" } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...k("to"), n: { N: "0" } } }));
    const transfers = Array.from({ length: 60 }, async () =>
      (await cancelled([take("from"), give("to")])) ? 0 : 1,
    );
    const singles = Array.from({ length: 40 }, () =>
      client
        .send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: k("from"),
            UpdateExpression: "ADD n :minus",
            ConditionExpression: "n >= :one",
            ExpressionAttributeValues: { ":minus": { N: "-1" }, ":one": { N: "1" } },
          }),
        )
        .then(
          () => 1,
          () => 0,
        ),
    );
    const [moved, took] = await Promise.all([Promise.all(transfers), Promise.all(singles)]);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(await n("from")).toBe(0);
    expect(await n("to")).toBe(sum(moved));
    expect(sum(moved) + sum(took)).toBe(30);
  });
});
