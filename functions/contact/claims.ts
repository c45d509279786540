import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Allocator } from "#functions/campaign/decide.ts";
import { hash32 } from "#platform/hash.ts";
import { conditional, type Repo } from "#platform/repo.ts";

/**
 * One contact per campaign (duplicate_contact across pages and shards) and RM capacity per day across
 * every campaign (`RMDAY#<rmId>` / local day: the owners of the day's places): the contact owner's
 * launch-time claims, conditional so they hold across pages, shards, campaigns and Lambda instances.
 */
export function dynamoAllocator(repo: Repo, campaignId: string, shards: number): Allocator {
  return {
    async claimContact(contactKey, owner) {
      return conditional(
        repo.ddb.send(
          new PutCommand({
            TableName: repo.table,
            Item: { PK: `CONTACT#${campaignId}#${hash32(contactKey) % shards}`, SK: contactKey, owner },
            // The owner check makes a retried page idempotent: its own earlier claim is not a duplicate.
            ConditionExpression: "attribute_not_exists(PK) OR #owner = :owner",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: { ":owner": owner },
          }),
        ),
      );
    },
    async claimRmDay(rmId, day, owner, capacity) {
      // A string set of the day's owners: ADD is idempotent, so a retried page keeps its place.
      return conditional(
        repo.ddb.send(
          new UpdateCommand({
            TableName: repo.table,
            Key: { PK: `RMDAY#${rmId}`, SK: day },
            UpdateExpression: "ADD members :owner",
            ConditionExpression:
              "attribute_not_exists(members) OR size(members) < :cap OR contains(members, :id)",
            ExpressionAttributeValues: { ":owner": new Set([owner]), ":cap": capacity, ":id": owner },
          }),
        ),
      );
    },
    async nextRmSlot(rmId) {
      const out = await repo.ddb.send(
        new UpdateCommand({
          TableName: repo.table,
          Key: { PK: `CAMP#${campaignId}`, SK: `RMSLOT#${rmId}` },
          UpdateExpression: "ADD n :one",
          ExpressionAttributeValues: { ":one": 1 },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(out.Attributes?.n ?? 1);
    },
  };
}
