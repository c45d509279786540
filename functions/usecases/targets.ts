import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { setTarget, type Target, validateTarget } from "#functions/funnel/targets.ts";
import { campaignInScope } from "./campaigns.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

export async function setCampaignTarget(deps: UseCaseDeps, actor: Actor, target: Target) {
  validateTarget(target);
  await campaignInScope(deps, actor, target.campaignId);
  await setTarget(deps.repo, target);
  await appendAudit(deps, {
    entity: "target",
    entityId: target.campaignId,
    action: "set",
    actor: auditActor(actor),
    at: deps.now().toISOString(),
    after: target,
  });
  return target;
}
