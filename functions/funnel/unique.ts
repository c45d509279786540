import { randomInt } from "node:crypto";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { localDay } from "#functions/campaign/time.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { conditional, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { FUNNEL_PARTS } from "./counters.ts";

/**
 * Unique events as they happened, beside the cumulative stages: how many recipients opened, clicked
 * or replied at least once. A stage is cumulative (a conversion counts as engaged); these are not: a
 * converted customer who never clicked is not a click here.
 */
export const UNIQUE_EVENTS = ["opened", "clicked", "replied"] as const;
export type UniqueEvent = (typeof UNIQUE_EVENTS)[number];
export type UniqueCounts = Record<UniqueEvent, number>;

export const isUniqueEvent = (type: string): type is UniqueEvent =>
  (UNIQUE_EVENTS as readonly string[]).includes(type);

const uniqueSk = (row: Pick<LedgerRow, "tier" | "variant" | "channel">, day: string, type: UniqueEvent) =>
  `U#${row.tier}#${row.variant ?? "-"}#${row.channel ?? "-"}#${day}#${type}`;

/**
 * Counts a recipient's first event of a kind, once: a mark per (campaign, recipient, kind) taken by
 * the event that counts it; a later event of that kind finds the mark and counts nothing. The same
 * event retried after a failure part-way (its mark taken, its count not yet confirmed) counts then.
 */
export async function countUnique(
  repo: Repo,
  row: LedgerRow,
  type: UniqueEvent,
  at: Date,
  eventId: string,
  timeZone: string,
): Promise<boolean> {
  const mark = key.uniqueMark(row.campaignId, row.customerId, type);
  const mine = await conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...mark, eventId, at: at.toISOString() },
        ConditionExpression: "attribute_not_exists(PK) OR (eventId = :e AND attribute_not_exists(countedAt))",
        ExpressionAttributeValues: { ":e": eventId },
      }),
    ),
  );
  if (!mine) return false;
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: {
        PK: key.uniquePartition(row.campaignId, randomInt(FUNNEL_PARTS)),
        SK: uniqueSk(row, localDay(at, timeZone), type),
      },
      UpdateExpression: "ADD #n :n",
      ExpressionAttributeNames: { "#n": "n" },
      ExpressionAttributeValues: { ":n": 1 },
    }),
  );
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: mark,
      UpdateExpression: "SET countedAt = :at",
      ExpressionAttributeValues: { ":at": new Date().toISOString() },
    }),
  );
  return true;
}

const empty = (): UniqueCounts => ({ opened: 0, clicked: 0, replied: 0 });

/** A campaign's unique events, in total, per tier and per day (the bank's days): a few counter items. */
export async function readUnique(repo: Repo, campaignId: string) {
  const total = empty();
  const byTier: Record<string, UniqueCounts> = {};
  const byDay: Record<string, UniqueCounts> = {};
  for (let part = 0; part < FUNNEL_PARTS; part++)
    for await (const item of repo.queryAll(key.uniquePartition(campaignId, part))) {
      const [, tier, , , day, type] = String(item.SK).split("#");
      if (!isUniqueEvent(type ?? "")) continue;
      const n = Number(item.n ?? 0);
      total[type as UniqueEvent] += n;
      (byTier[tier!] ??= empty())[type as UniqueEvent] += n;
      (byDay[day!] ??= empty())[type as UniqueEvent] += n;
    }
  return { total, byTier, byDay };
}
