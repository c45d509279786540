import type { Customer } from "#functions/customers/record.ts";
import { activityPage, birthdayPage, tierPage } from "#functions/customers/store.ts";
import type { Repo } from "#platform/repo.ts";
import { batchGet } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import type { ContactState } from "./decide.ts";

/**
 * One unit of segment work: a tier's shard, or a shard of a care index (`birthday`: the customers born
 * on that MM-DD; `activeDays`: those whose last activity fell on one of those UTC days, a day after
 * another; `tier` is then a label). A launch is a Map over these; each is a loop of pages.
 */
export interface ShardTask {
  tier: string;
  shard: number;
  birthday?: string;
  activeDays?: { from: string; to: string };
}

type CareSegment = {
  tiers: string[];
  birthdayToday?: boolean | undefined;
  openedWithinHours?: number | undefined;
  transactedWithinHours?: number | undefined;
};

/**
 * The care index a segment can read instead of its tiers, if the table has it: the birthday index for
 * a birthday segment, the activity-day index for "opened / transacted within H hours".
 */
export function careIndexOf(
  segment: CareSegment,
  missingIndexes: ReadonlySet<string>,
): "GSI4" | "GSI6" | undefined {
  if (segment.birthdayToday && !missingIndexes.has("GSI4")) return "GSI4";
  if (activityWindowHours(segment) !== undefined && !missingIndexes.has("GSI6")) return "GSI6";
  return undefined;
}

/** The narrower of a segment's activity windows (both filters apply, so either window holds everyone). */
function activityWindowHours(segment: CareSegment): number | undefined {
  const hours = [segment.openedWithinHours, segment.transactedWithinHours].filter((h) => h !== undefined);
  return hours.length ? Math.min(...hours) : undefined;
}

/**
 * The UTC days from `hours` before `now` to `now`'s own day. A customer opened or transacted in that
 * window has a last-activity day in it (that day is the later of the two, and not after `now`).
 */
export function activityDays(now: Date, hours: number): string[] {
  const end = now.toISOString().slice(0, 10);
  const days = [new Date(now.getTime() - hours * 3_600_000).toISOString().slice(0, 10)];
  while ((days.at(-1) ?? end) < end) days.push(nextDay(days.at(-1) ?? end));
  return days;
}

export function shardTasks(tiers: string[], shards: number): ShardTask[] {
  return tiers.flatMap((tier) => Array.from({ length: shards }, (_, shard) => ({ tier, shard })));
}

/**
 * The tasks that read a segment: a birthday segment reads the day's shards of the sparse birthday
 * index, an opened- or transacted-within segment the window's days of the activity index (the tier
 * filter then applies to those customers only); any other reads its tiers' shards. A table without
 * the index (an old embedded data dir) pages the tiers instead.
 */
export function segmentTasks(
  segment: CareSegment,
  shards: number,
  now: Date,
  /** The bank's day of `now` (YYYY-MM-DD): a birthday is today in the bank's zone. */
  today: string,
  missingIndexes: ReadonlySet<string> = new Set(),
): ShardTask[] {
  const index = careIndexOf(segment, missingIndexes);
  const shardsOf = (task: (shard: number) => ShardTask) =>
    Array.from({ length: shards }, (_, shard) => task(shard));
  if (index === "GSI4") {
    const monthDay = today.slice(5);
    return shardsOf((shard) => ({ tier: `birthday${monthDay.replace("-", "")}`, shard, birthday: monthDay }));
  }
  if (index === "GSI6") {
    // One task per shard whatever the window (its pages walk the days), so a 30-day window is as
    // many tasks, and as many child executions, as a one-day one.
    const days = activityDays(now, activityWindowHours(segment) ?? 0);
    const from = days[0] ?? "";
    const to = days.at(-1) ?? "";
    return shardsOf((shard) => ({
      tier: `active${from.replaceAll("-", "")}`,
      shard,
      activeDays: { from, to },
    }));
  }
  return shardTasks(segment.tiers, shards);
}

/** One page of a task: its tier shard, or its shard of a care index. */
export function taskPage(
  repo: Repo,
  scheme: string,
  task: ShardTask,
  cursor: string | undefined,
  limit: number,
) {
  if (task.birthday) return birthdayPage(repo, task.birthday, task.shard, cursor, limit);
  if (task.activeDays) return activityDaysPage(repo, task.activeDays, task.shard, cursor, limit);
  return tierPage(repo, scheme, task.tier, task.shard, cursor, limit);
}

/**
 * A page of a shard of the activity index over a range of days. Its cursor is `<day>#<customerId>`
 * (`<day>#` for a day not yet begun), so a page resumes on its day; a day's end moves on to the next,
 * skipping empty days within the one request budget of a page.
 */
async function activityDaysPage(
  repo: Repo,
  days: { from: string; to: string },
  shard: number,
  cursor: string | undefined,
  limit: number,
) {
  let day = cursor ? cursor.slice(0, 10) : days.from;
  let after = cursor ? cursor.slice(11) || undefined : undefined;
  for (;;) {
    const page = await activityPage(repo, day, shard, after, limit);
    if (page.cursor) return { customers: page.customers, cursor: `${day}#${page.cursor}` };
    if (day >= days.to) return { customers: page.customers, cursor: undefined };
    day = nextDay(day);
    after = undefined;
    if (page.customers.length > 0) return { customers: page.customers, cursor: `${day}#` };
  }
}

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

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
