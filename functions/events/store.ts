import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditional, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/**
 * Records an event id: false when it was applied before (an identical replay is a duplicate). An event
 * seen but never marked applied (its first try failed part-way, e.g. a throttled write) is taken again:
 * every step of applying an event is idempotent, so the retry completes what the first try left.
 */
export function claimEventId(repo: Repo, event: { eventId: string }) {
  return conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...key.event(event.eventId), type: "event", event, receivedAt: new Date().toISOString() },
        ConditionExpression: "attribute_not_exists(PK) OR attribute_not_exists(appliedAt)",
      }),
    ),
  );
}

/** The event is fully applied: a replay from now on is a duplicate. */
export async function markEventApplied(repo: Repo, eventId: string, at: string) {
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: key.event(eventId),
      UpdateExpression: "SET appliedAt = :at",
      ExpressionAttributeValues: { ":at": at },
    }),
  );
}

/** Referral links and rewards are written once; a replay finds them and changes nothing. */
export function putOnce(repo: Repo, item: Record<string, unknown>) {
  return conditional(
    repo.ddb.send(
      new PutCommand({ TableName: repo.table, Item: item, ConditionExpression: "attribute_not_exists(PK)" }),
    ),
  );
}
