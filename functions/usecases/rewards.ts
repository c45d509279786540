import { inScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { listCampaigns } from "#functions/campaign/record.ts";
import { markPaid, type Reward, rewardsOf } from "#functions/referrals/rewards.ts";
import { campaignInScope } from "./campaigns.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

export type RewardStatus = Reward["status"] | "all";

/** Referral rewards the actor may see: one drive's, or every referral drive in their scope. */
export async function listRewardsAs(
  deps: UseCaseDeps,
  actor: Actor,
  options: { campaignId?: string; status?: RewardStatus } = {},
): Promise<Reward[]> {
  const drives = options.campaignId
    ? [(await campaignInScope(deps, actor, options.campaignId)).campaignId]
    : (await listCampaigns(deps.repo))
        .filter((c) => c.playbook === "referral-drive" && inScope(actor, c.branchId))
        .map((c) => c.campaignId);
  const status = options.status ?? "all";
  const rewards: Reward[] = [];
  for (const campaignId of drives)
    for (const r of await rewardsOf(deps.repo, campaignId))
      if (status === "all" || r.status === status) rewards.push(r);
  return rewards.sort((a, b) => a.at.localeCompare(b.at) || a.referrerId.localeCompare(b.referrerId));
}

/** Marks a reward paid after the bank's settlement (once; audited with the payment reference). */
export async function payRewardAs(
  deps: UseCaseDeps,
  actor: Actor,
  campaignId: string,
  referrerId: string,
  reference?: string,
) {
  await campaignInScope(deps, actor, campaignId);
  const at = deps.now().toISOString();
  const result = await markPaid(deps.repo, campaignId, referrerId, {
    by: actor.userId,
    at,
    ...(reference ? { reference } : {}),
  });
  if (result.changed)
    await appendAudit(deps, {
      entity: "reward",
      entityId: `${campaignId}.${referrerId}`,
      action: "pay",
      actor: auditActor(actor),
      at,
      before: { status: "due" },
      after: { status: "paid", ...(reference ? { reference } : {}) },
    });
  return result.reward;
}
