import type { Customer } from "#functions/customers/record.ts";
import { tierPage } from "#functions/customers/store.ts";
import type { Repo } from "#platform/repo.ts";
import { batchGet } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import type { ContactState } from "./decide.ts";

/** One unit of segment work: a tier's shard. A launch is a Map over these; each is a loop of pages. */
export interface ShardTask {
  tier: string;
  shard: number;
}

export function shardTasks(tiers: string[], shards: number): ShardTask[] {
  return tiers.flatMap((tier) => Array.from({ length: shards }, (_, shard) => ({ tier, shard })));
}

export async function contactStates(repo: Repo, customers: Customer[]): Promise<Map<string, ContactState>> {
  if (customers.length === 0) return new Map();
  const items = await batchGet(
    repo.ddb,
    repo.table,
    customers.map((c) => key.contactState(c.customerId)),
    8,
  );
  return new Map(items.map((item) => [String(item.PK).slice(5), item as ContactState]));
}

/** Pages of one shard task, in customerId order, never more than one page in memory. */
export async function* pagesOf(repo: Repo, scheme: string, task: ShardTask, pageSize: number) {
  let cursor: string | undefined;
  do {
    const page = await tierPage(repo, scheme, task.tier, task.shard, cursor, pageSize);
    cursor = page.cursor;
    yield page.customers;
  } while (cursor);
}
