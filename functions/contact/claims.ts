import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Allocator } from "#functions/campaign/decide.ts";
import { hash32 } from "#platform/hash.ts";
import {
  conditional,
  MAX_TRANSACTION_ITEMS,
  type PutParams,
  type Repo,
  writeTogether,
} from "#platform/repo.ts";

/**
 * One contact per campaign (duplicate_contact across pages and shards) and RM capacity per day across
 * every campaign (`RMDAY#<rmId>` / local day: the owners of the day's places): the contact owner's
 * launch-time claims, conditional so they hold across pages, shards, campaigns and Lambda instances.
 */
export function dynamoAllocator(repo: Repo, campaignId: string, shards: number): Allocator {
  const contactClaim = (contactKey: string, owner: string): PutParams => ({
    Item: { PK: `CONTACT#${campaignId}#${hash32(contactKey) % shards}`, SK: contactKey, owner },
    // The owner check makes a retried page idempotent: its own earlier claim is not a duplicate.
    ConditionExpression: "attribute_not_exists(PK) OR #owner = :owner",
    ExpressionAttributeNames: { "#owner": "owner" },
    ExpressionAttributeValues: { ":owner": owner },
  });
  const claimContact = (contactKey: string, owner: string) =>
    conditional(repo.ddb.send(new PutCommand({ TableName: repo.table, ...contactClaim(contactKey, owner) })));
  const allocator: Allocator = {
    claimContact,
    async claimContacts(claims) {
      // A page's claims in transactions of up to 100: a cancelled one names the contacts another
      // customer holds (lost), and the rest are tried again without them; anything else (a conflict
      // with another page's transaction) is settled one by one.
      const won: boolean[] = claims.map(() => false);
      for (let from = 0; from < claims.length; from += MAX_TRANSACTION_ITEMS) {
        let pending = Array.from(
          { length: Math.min(MAX_TRANSACTION_ITEMS, claims.length - from) },
          (_, j) => from + j,
        );
        for (let round = 0; pending.length > 0; round++) {
          const out = await writeTogether(
            repo,
            pending.map((i) => ({ Put: contactClaim(claims[i]!.contactKey, claims[i]!.owner) })),
          );
          if (out === true) {
            for (const i of pending) won[i] = true;
            break;
          }
          const lost = new Set(pending.filter((_, j) => out[j] === "ConditionalCheckFailed"));
          if (lost.size === 0 || round >= 3) {
            for (const i of pending) won[i] = await claimContact(claims[i]!.contactKey, claims[i]!.owner);
            break;
          }
          pending = pending.filter((i) => !lost.has(i));
        }
      }
      return won;
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
  // On DynamoDB a transaction's writes cost twice: there the claims stay single puts.
  if (!repo.batchedWrites) delete allocator.claimContacts;
  return allocator;
}
