import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { putOnce } from "#functions/events/store.ts";
import { ConflictError, NotFoundError } from "#platform/errors.ts";
import { isConditionFailed, type Repo } from "#platform/repo.ts";

/**
 * The referral reward's owner: the only writer of `REWARD#<campaign>` / referrerId items. One reward per
 * referrer per drive (DOMAIN.md), written when a referee's funded account converts the referrer; then
 * `due → paid` once, when the bank's settlement has paid it (conditional: a second payment is refused).
 */
export interface Reward {
  campaignId: string;
  referrerId: string;
  refereeId: string;
  reward: string;
  at: string;
  status: "due" | "paid";
  paidAt?: string;
  paidBy?: string;
  /** The bank's own payment reference (a settlement batch or voucher number). */
  reference?: string;
}

const rewardPartition = (campaignId: string) => `REWARD#${campaignId}`;

/** The referrer's reward for a drive, once (a replayed or second funded referee adds nothing). */
export function recordReward(
  repo: Repo,
  reward: Pick<Reward, "campaignId" | "referrerId" | "refereeId" | "reward" | "at">,
) {
  return putOnce(repo, {
    PK: rewardPartition(reward.campaignId),
    SK: reward.referrerId,
    ...reward,
    status: "due",
  });
}

const toReward = (campaignId: string, item: Record<string, unknown>): Reward => ({
  campaignId,
  referrerId: String(item.referrerId ?? item.SK),
  refereeId: String(item.refereeId ?? ""),
  reward: String(item.reward ?? ""),
  at: String(item.at ?? ""),
  status: item.status === "paid" ? "paid" : "due",
  ...(item.paidAt ? { paidAt: String(item.paidAt) } : {}),
  ...(item.paidBy ? { paidBy: String(item.paidBy) } : {}),
  ...(item.reference ? { reference: String(item.reference) } : {}),
});

/** A drive's rewards (one partition), by referrer. */
export async function rewardsOf(repo: Repo, campaignId: string): Promise<Reward[]> {
  const out: Reward[] = [];
  for await (const item of repo.queryAll(rewardPartition(campaignId))) out.push(toReward(campaignId, item));
  return out;
}

export async function getReward(repo: Repo, campaignId: string, referrerId: string) {
  const item = await repo.get({ PK: rewardPartition(campaignId), SK: referrerId });
  return item ? toReward(campaignId, item) : undefined;
}

/**
 * Marks a due reward paid. Paying it again with the same reference changes nothing (a re-run of the
 * settlement import); another reference for a paid reward is a ConflictError, never a second payment.
 */
export async function markPaid(
  repo: Repo,
  campaignId: string,
  referrerId: string,
  input: { by: string; at: string; reference?: string },
): Promise<{ changed: boolean; reward: Reward }> {
  const current = await getReward(repo, campaignId, referrerId);
  if (!current) throw new NotFoundError(`no reward of drive ${campaignId} for referrer ${referrerId}`);
  const paidAlready = (r: Reward) => {
    if ((r.reference ?? "") === (input.reference ?? "")) return { changed: false, reward: r };
    throw new ConflictError(
      `the reward of ${referrerId} in ${campaignId} was paid on ${r.paidAt} (${r.reference ?? "no reference"})`,
      "reward_paid",
    );
  };
  if (current.status === "paid") return paidAlready(current);
  try {
    const out = await repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: { PK: rewardPartition(campaignId), SK: referrerId },
        UpdateExpression: `SET #status = :paid, paidAt = :at, paidBy = :by${input.reference ? ", #reference = :ref" : ""}`,
        ConditionExpression: "#status = :due",
        ExpressionAttributeNames: {
          "#status": "status",
          ...(input.reference ? { "#reference": "reference" } : {}),
        },
        ExpressionAttributeValues: {
          ":paid": "paid",
          ":due": "due",
          ":at": input.at,
          ":by": input.by,
          ...(input.reference ? { ":ref": input.reference } : {}),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return { changed: true, reward: toReward(campaignId, out.Attributes ?? {}) };
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    const now = await getReward(repo, campaignId, referrerId);
    if (!now) throw err;
    return paidAlready(now);
  }
}

export const REWARD_COLUMNS = [
  "campaignId",
  "referrerId",
  "refereeId",
  "reward",
  "at",
  "status",
  "paidAt",
  "reference",
] as const;
