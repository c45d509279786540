import type { Customer } from "#functions/customers/record.ts";
import { birthdayPage, tierPage } from "#functions/customers/store.ts";
import type { Repo } from "#platform/repo.ts";
import { batchGet } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import type { ContactState } from "./decide.ts";

/**
 * One unit of segment work: a tier's shard, or a shard of a sparse care index (`birthday`: the
 * customers born on `monthDay`; `tier` is then a label). A launch is a Map over these; each is a loop of pages.
 */
export interface ShardTask {
  tier: string;
  shard: number;
  birthday?: string;
}

export function shardTasks(tiers: string[], shards: number): ShardTask[] {
  return tiers.flatMap((tier) => Array.from({ length: shards }, (_, shard) => ({ tier, shard })));
}

/**
 * The tasks that read a segment: a birthday segment reads the day's shards of the sparse birthday
 * index (the tier filter then applies to those customers only); any other reads its tiers' shards.
 */
export function segmentTasks(
  segment: { tiers: string[]; birthdayToday?: boolean | undefined },
  shards: number,
  today: string,
  /** False on a table without the birthday index (an old embedded data dir): page the tiers instead. */
  birthdayIndex = true,
): ShardTask[] {
  if (!segment.birthdayToday || !birthdayIndex) return shardTasks(segment.tiers, shards);
  const monthDay = today.slice(5);
  return Array.from({ length: shards }, (_, shard) => ({
    tier: `birthday${monthDay.replace("-", "")}`,
    shard,
    birthday: monthDay,
  }));
}

/** One page of a task: its tier shard, or its shard of the birthday index. */
export function taskPage(
  repo: Repo,
  scheme: string,
  task: ShardTask,
  cursor: string | undefined,
  limit: number,
) {
  return task.birthday
    ? birthdayPage(repo, task.birthday, task.shard, cursor, limit)
    : tierPage(repo, scheme, task.tier, task.shard, cursor, limit);
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
    const page = await taskPage(repo, scheme, task, cursor, pageSize);
    cursor = page.cursor;
    yield page.customers;
  } while (cursor);
}
