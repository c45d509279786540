import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { conditional, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/** Records an event id once: false when it was seen before (an identical replay is a duplicate). */
export function claimEventId(repo: Repo, event: { eventId: string }) {
  return conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...key.event(event.eventId), type: "event", event, receivedAt: new Date().toISOString() },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    ),
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
