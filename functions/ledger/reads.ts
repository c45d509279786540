import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { LedgerRow, LedgerState } from "#functions/ledger/rows.ts";
import { batchGet, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/** The first row of a shard's in-flight set (one Limit-1 query: is anything still in flight?). */
export async function firstInFlight(
  repo: Repo,
  campaignId: string,
  shard: number,
): Promise<LedgerRow | undefined> {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :pk",
      ExpressionAttributeValues: { ":pk": key.inflightPartition(campaignId, shard) },
      Limit: 1,
    }),
  );
  return out.Items?.[0] as LedgerRow | undefined;
}

/** Every row of a shard, projected to its state and tier (a launch summary reads nothing else). */
export async function* ledgerStates(
  repo: Repo,
  campaignId: string,
  shard: number,
): AsyncGenerator<{ decision: LedgerState; tier: string }> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await repo.ddb.send(
      new QueryCommand({
        TableName: repo.table,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": key.ledgerPartition(campaignId, shard) },
        ProjectionExpression: "decision, tier",
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? [])
      yield { decision: item.decision as LedgerState, tier: String(item.tier) };
    start = out.LastEvaluatedKey;
  } while (start);
}

/** One row, strongly consistent. */
export async function readRow(repo: Repo, campaignId: string, shard: number, customerId: string) {
  return repo.get<LedgerRow>(key.ledger(campaignId, shard, customerId));
}

/** Rows by reference, in the order given (undefined where none), in strongly consistent BatchGets. */
export async function readRows(
  repo: Repo,
  refs: readonly { campaignId: string; shard: number; customerId: string }[],
): Promise<(LedgerRow | undefined)[]> {
  const items = await batchGet(
    repo.ddb,
    repo.table,
    refs.map((r) => key.ledger(r.campaignId, r.shard, r.customerId)),
    4,
    true,
  );
  const byKey = new Map(items.map((i) => [`${i.PK}\u0000${i.SK}`, i as unknown as LedgerRow]));
  return refs.map((r) => {
    const k = key.ledger(r.campaignId, r.shard, r.customerId);
    return byKey.get(`${k.PK}\u0000${k.SK}`);
  });
}
