import { assertHeadOffice, assertInScope, rmIdOf } from "#functions/access/scope.ts";
import { type Actor, listUsers } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { loadCampaign } from "#functions/campaign/record.ts";
import { bookSizes } from "#functions/customers/reports.ts";
import {
  cascade,
  type IndicatorPlanInput,
  IndicatorValidationError,
  indicatorProgress,
  loadIndicatorPlan,
  type NodeProgress,
  type RmShare,
  resplitBranch,
  saveBranchSplit,
  saveIndicatorPlan,
  validateIndicator,
} from "#functions/funnel/indicators.ts";
import { type PerformanceQuery, perfCounts, readPerformance } from "#functions/funnel/performance.ts";
import { periodRange } from "#functions/funnel/targets.ts";
import { STAGES } from "#functions/ledger/rows.ts";
import { staffOfBranch } from "#functions/staff/store.ts";
import { ForbiddenError, NotFoundError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/**
 * The scope an actor reads performance in: a branch user their branch only (asking for another is 403
 * other_branch); an RM their own figures only (another RM's is 403 other_rm); head office anything.
 */
function scoped(actor: Actor, q: { branchId?: string; rmId?: string }) {
  if (q.branchId) assertInScope(actor, `the performance of branch ${q.branchId}`, q.branchId);
  const branchId = actor.branchId ?? q.branchId;
  if (actor.role === "rm") {
    const own = rmIdOf(actor);
    if (q.rmId && q.rmId !== own)
      throw new ForbiddenError(`RM ${own} cannot read the performance of RM ${q.rmId}`, "other_rm");
    return { ...(branchId ? { branchId } : {}), rmId: own };
  }
  return { ...(branchId ? { branchId } : {}), ...(q.rmId ? { rmId: q.rmId } : {}) };
}

/** Funnel and uplift by branch or by RM (one campaign, or all), within the actor's scope. */
export async function performanceAs(
  deps: UseCaseDeps,
  actor: Actor,
  q: PerformanceQuery & { period?: string },
) {
  const scope = scoped(actor, q);
  // A branch user reads their branch's slice of any campaign (a head-office campaign reaches their
  // customers too); a campaign id must still exist.
  if (q.campaignId) await loadCampaign(deps.repo, q.campaignId);
  const [from, to] = q.period ? periodRange(q.period) : [q.from, q.to];
  return readPerformance(deps.repo, {
    by: actor.role === "rm" ? "rm" : q.by,
    ...(q.campaignId ? { campaignId: q.campaignId } : {}),
    ...scope,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  });
}

/** Head office sets the bank's quarterly indicator; the cascade is recomputed from today's books. */
export async function setIndicatorAs(deps: UseCaseDeps, actor: Actor, input: IndicatorPlanInput) {
  assertHeadOffice(actor, "a bank indicator");
  // The shape first (every problem at once), before the scan of the books.
  validateIndicator(input, [{ branchId: "-", customers: 1 }]);
  const books = await bookSizes(deps);
  const nodes = cascade(input, books);
  const at = deps.now().toISOString();
  const plan = {
    period: input.period,
    stage: input.stage,
    value: input.value,
    split: input.split ?? "customers",
    setAt: at,
    setBy: actor.userId,
    nodes,
  };
  await saveIndicatorPlan(deps.repo, plan);
  await appendAudit(deps, {
    entity: "indicator",
    entityId: `${input.period}.${input.stage}`,
    action: "set",
    actor: auditActor(actor),
    at,
    after: {
      value: input.value,
      split: plan.split,
      branches: nodes.filter((n) => n.level === "branch").length,
      rms: nodes.filter((n) => n.level === "rm").length,
    },
  });
  return plan;
}

/** The indicator set for a quarter and stage: both checked first (every problem at once), then a 404 when none is set. */
async function storedPlan(deps: UseCaseDeps, q: { period: string; stage: string }) {
  const problems = [];
  if (!/^\d{4}Q[1-4]$/.test(q.period))
    problems.push(`period must be a quarter (2027Q1), got "${q.period.slice(0, 40)}"`);
  if (!(STAGES as readonly string[]).includes(q.stage))
    problems.push(`stage must be one of ${STAGES.join(", ")}, got "${q.stage.slice(0, 40)}"`);
  if (problems.length) throw new IndicatorValidationError(problems);
  const plan = await loadIndicatorPlan(deps.repo, q.period, q.stage);
  if (!plan)
    throw new NotFoundError(`no indicator for ${q.stage} in ${q.period} (set it with indicators set)`);
  return plan;
}

/**
 * An indicator's cascade with progress from the performance counters (treated group, the stage's
 * moves on each day), in the actor's scope.
 */
export async function indicatorAs(
  deps: UseCaseDeps,
  actor: Actor,
  q: {
    period: string;
    stage: string;
    branchId?: string;
    rmId?: string;
    level?: NodeProgress["level"];
    grain?: "quarter" | "month" | "week";
  },
) {
  const scope = scoped(actor, q);
  const plan = await storedPlan(deps, q);
  const counts = [];
  for await (const c of perfCounts(deps.repo)) if (c.stage === plan.stage && !c.holdout) counts.push(c);
  const rows = indicatorProgress(plan, counts).filter((r) => {
    if (scope.branchId && r.branchId !== scope.branchId) return false;
    if (scope.rmId && r.rmId !== scope.rmId) return false;
    if (q.level && r.level !== q.level) return false;
    const grain = r.period.includes("/") ? "week" : r.period.includes("Q") ? "quarter" : "month";
    return !q.grain || grain === q.grain;
  });
  return {
    period: plan.period,
    stage: plan.stage,
    value: plan.value,
    split: plan.split,
    setAt: plan.setAt,
    rows,
  };
}

/**
 * A branch manager re-splits their branch's share of an indicator among its RMs by hand (head office may
 * for any branch): the shares must add up to the branch's quarter exactly, and each RM be one of the
 * branch's (an `rm` user or staff member of the branch, or an RM the cascade gave a share there), so a
 * new RM can be given a share. The branch's months and weeks, and every figure above, stay as they were.
 * Audited with the shares before and after; a later `set` of the quarter replaces it.
 */
export async function splitBranchIndicatorAs(
  deps: UseCaseDeps,
  actor: Actor,
  q: { period: string; stage: string; branchId: string; shares: RmShare[] },
) {
  if (actor.role === "rm")
    throw new ForbiddenError("an RM cannot re-split the branch's indicator", "forbidden");
  assertInScope(actor, `branch ${q.branchId}'s indicator`, q.branchId);
  const plan = await storedPlan(deps, q);
  const before = plan.nodes.filter((n) => n.level === "rm" && n.branchId === q.branchId);
  const known = new Set(before.map((n) => n.rmId!));
  for (const u of await listUsers(deps.repo))
    if (u.role === "rm" && u.branchId === q.branchId) known.add(rmIdOf(u));
  for (const s of await staffOfBranch(deps.repo, q.branchId)) if (s.role === "rm") known.add(s.staffId);
  const rms = resplitBranch(plan, q.branchId, q.shares, (id) => known.has(id));
  const at = deps.now().toISOString();
  await saveBranchSplit(deps.repo, plan, q.branchId, rms, { userId: actor.userId, at });
  const shares = (nodes: typeof rms) => Object.fromEntries(nodes.map((n) => [n.rmId!, n.quarter]));
  await appendAudit(deps, {
    entity: "indicator",
    entityId: `${plan.period}.${plan.stage}`,
    action: "split",
    actor: auditActor(actor),
    at,
    before: { branchId: q.branchId, rms: shares(before) },
    after: { branchId: q.branchId, rms: shares(rms) },
  });
  const branch = plan.nodes.find((n) => n.level === "branch" && n.branchId === q.branchId)!;
  return {
    period: plan.period,
    stage: plan.stage,
    branchId: q.branchId,
    nodes: [{ ...branch, rmSplit: { by: actor.userId, at } }, ...rms],
  };
}
