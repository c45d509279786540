import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { LedgerRow, LedgerState } from "#functions/ledger/rows.ts";
import { batchGet, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/**
 * The first row of a shard's in-flight set, as the table holds it (is anything still in flight?): one
 * small index query and one BatchGet, since the index's projection may be stale (see rowsInIndex).
 */
export async function firstInFlight(
  repo: Repo,
  campaignId: string,
  shard: number,
): Promise<LedgerRow | undefined> {
  for await (const rows of rowsInIndex(repo, key.inflightPartition(campaignId, shard), { pageSize: 5 }))
    if (rows.length) return rows.sort((a, b) => a.customerId.localeCompare(b.customerId))[0];
  return undefined;
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

/**
 * The rows an index partition (GSI3: in flight, due, unknown, paused) lists, page by page, as the
 * table holds them (strongly consistent BatchGets). An index is eventually consistent on AWS, and the
 * embedded store killed mid-write can leave a stale projection for good, so nothing acts on what an
 * index says: rows whose item has left the partition since are dropped.
 */
export async function* rowsInIndex(
  repo: Repo,
  partition: string,
  options: { pageSize?: number; skUpTo?: string } = {},
): AsyncGenerator<LedgerRow[]> {
  const pageSize = options.pageSize ?? 100;
  let page: { PK: string; SK: string }[] = [];
  const flush = async () => {
    const items = await batchGet(repo.ddb, repo.table, page, 4, true);
    page = [];
    return (items as unknown as LedgerRow[]).filter((r) => r.GSI3PK === partition);
  };
  for await (const item of repo.queryAll(partition, {
    indexName: "GSI3",
    pageLimit: pageSize,
    ...(options.skUpTo ? { skUpTo: options.skUpTo } : {}),
  })) {
    page.push({ PK: String(item.PK), SK: String(item.SK) });
    if (page.length >= pageSize) yield await flush();
  }
  if (page.length) yield await flush();
}
