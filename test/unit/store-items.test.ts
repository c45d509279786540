import { describe, expect, it } from "vitest";
import { itemsOf, writtenPrefixes } from "#platform/clients.ts";

describe("the store items a request names (the benchmark's items per send)", () => {
  it("counts a transaction's writes, not its condition checks", () => {
    const input = {
      TransactItems: [{ Update: {} }, { Put: {} }, { ConditionCheck: {} }, { Delete: {} }],
    };
    expect(itemsOf("TransactWriteItemsCommand", input)).toEqual({ written: 3, read: 0 });
  });

  it("counts a batch's items over every table, and single writes and reads as one", () => {
    expect(itemsOf("BatchWriteItemCommand", { RequestItems: { a: [{}, {}], b: [{}] } })).toEqual({
      written: 3,
      read: 0,
    });
    expect(
      itemsOf("BatchGetItemCommand", { RequestItems: { a: { Keys: [{}, {}] }, b: { Keys: [{}] } } }),
    ).toEqual({
      written: 0,
      read: 3,
    });
    expect(itemsOf("UpdateItemCommand", {})).toEqual({ written: 1, read: 0 });
    expect(itemsOf("GetItemCommand", {})).toEqual({ written: 0, read: 1 });
    // A query's items are known from its answer (ScannedCount), not its input.
    expect(itemsOf("QueryCommand", {})).toEqual({ written: 0, read: 0 });
  });
});

describe("the kinds of items a write request writes", () => {
  it("names each written item by its key's prefix, marshalled or not", () => {
    expect(
      writtenPrefixes("TransactWriteItemsCommand", {
        TransactItems: [
          { Update: { Key: { PK: "LEDGER#c#1", SK: "x" } } },
          { Put: { Item: { PK: { S: "CUST#9" } } } },
          { ConditionCheck: { Key: { PK: "CAMP#c" } } },
        ],
      }),
    ).toEqual(["LEDGER", "CUST"]);
    expect(
      writtenPrefixes("BatchWriteItemCommand", {
        RequestItems: {
          t: [
            { PutRequest: { Item: { PK: "FUNNEL#c#0" } } },
            { DeleteRequest: { Key: { PK: "RELEASE#INTENTS" } } },
          ],
        },
      }),
    ).toEqual(["FUNNEL", "RELEASE"]);
    expect(writtenPrefixes("UpdateItemCommand", { Key: { PK: "PERF#c#2" } } as never)).toEqual(["PERF"]);
    expect(writtenPrefixes("QueryCommand", {})).toEqual([]);
  });
});
