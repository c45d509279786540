import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { conditional, type Repo } from "#platform/repo.ts";

/** The schedule's item writes; schedules/core.ts decides when (and stays free of the SDK). */
export const scheduleItemKey = (scheduleId: string) => ({ PK: "SCHEDULES", SK: scheduleId });

export async function deleteSchedule(repo: Repo, scheduleId: string) {
  await repo.ddb.send(new DeleteCommand({ TableName: repo.table, Key: scheduleItemKey(scheduleId) }));
}

/** Claims one firing: moves nextRunAt only from the value read, so two schedulers fire it once. */
export function claimRun(repo: Repo, scheduleId: string, expected: string, next: string, firedAt: string) {
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: scheduleItemKey(scheduleId),
        UpdateExpression: "SET nextRunAt = :next, lastRunAt = :fired",
        ConditionExpression: "nextRunAt = :expected",
        ExpressionAttributeValues: { ":next": next, ":fired": firedAt, ":expected": expected },
      }),
    ),
  );
}

export async function setLastCampaign(repo: Repo, scheduleId: string, campaignId: string) {
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: scheduleItemKey(scheduleId),
      UpdateExpression: "SET lastCampaignId = :c",
      ExpressionAttributeValues: { ":c": campaignId },
    }),
  );
}
