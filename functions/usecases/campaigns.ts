import { assertInScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit, readAudit } from "#functions/audit/store.ts";
import { changesSinceApproval } from "#functions/campaign/changes.ts";
import {
  applyTransition,
  type CampaignAction,
  type CampaignRecord,
  findCampaign,
  loadCampaign,
  planTransition,
  revertLaunch,
  saveCampaign,
} from "#functions/campaign/record.ts";
import { parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import { createDryRun } from "#functions/dryrun/job.ts";
import { wakeCampaign } from "#functions/release/core.ts";
import { ConflictError, ForbiddenError, InputError } from "#platform/errors.ts";
import { logger } from "#platform/logger.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/** A campaign the actor may see and act on (another branch's is 403 other_branch). */
export async function campaignInScope(deps: UseCaseDeps, actor: Actor, campaignId: string) {
  const record = await loadCampaign(deps.repo, campaignId);
  assertInScope(actor, `campaign "${record.campaignId}"`, record.branchId);
  return record;
}

/** Validates a campaign body and, for a branch user, confines its audience to their branch. */
export function campaignFromBody(
  deps: Pick<UseCaseDeps, "config">,
  actor: Actor,
  body: unknown,
): ResolvedCampaign {
  const campaign = parseCampaign(body, deps.config);
  if (actor.branchId) {
    if (campaign.segment.branches?.some((b) => b !== actor.branchId))
      throw new ForbiddenError(
        `segment.branches: a user of branch ${actor.branchId} can only target branch ${actor.branchId}`,
        "other_branch",
      );
    campaign.segment.branches = [actor.branchId];
  }
  return campaign;
}

async function save(deps: UseCaseDeps, actor: Actor, campaign: ResolvedCampaign, existing?: CampaignRecord) {
  const now = deps.now();
  const record = await saveCampaign(deps.repo, campaign, now, actor);
  await auditSaved(deps, actor, now, record, existing);
  return record;
}

/** The trail's entry for a saved definition: `create`, or `edit` with the version it replaced. */
async function auditSaved(
  deps: UseCaseDeps,
  actor: Actor,
  now: Date,
  saved: CampaignRecord,
  before: CampaignRecord | undefined,
) {
  await appendAudit(deps, {
    entity: "campaign",
    entityId: saved.campaignId,
    action: before ? "edit" : "create",
    actor: auditActor(actor),
    at: now.toISOString(),
    ...(before
      ? { before: { status: before.status, version: before.version, campaign: before.campaign } }
      : {}),
    after: { status: saved.status, version: saved.version, campaign: saved.campaign },
  });
}

export async function createCampaign(deps: UseCaseDeps, actor: Actor, body: unknown) {
  const id = (body as { campaignId?: unknown } | undefined)?.campaignId;
  if (typeof id === "string") {
    const existing = await findCampaign(deps.repo, id);
    if (existing) {
      assertInScope(actor, `campaign "${id}"`, existing.branchId);
      throw new ConflictError(`campaign "${id}" exists: edit it with PUT /api/campaigns/${id}`, "exists");
    }
  }
  return save(deps, actor, campaignFromBody(deps, actor, body));
}

export async function editCampaign(deps: UseCaseDeps, actor: Actor, campaignId: string, body: unknown) {
  const existing = await campaignInScope(deps, actor, campaignId);
  const bodyId = (body as { campaignId?: unknown } | undefined)?.campaignId;
  if (bodyId !== existing.campaignId)
    throw new InputError(`campaignId in the body (${String(bodyId)}) must be ${existing.campaignId}`);
  return save(deps, actor, campaignFromBody(deps, actor, body), existing);
}

/** submit, approve, reject, launch, pause, resume, cancel: the lifecycle's rules, then the audit entry. */
export async function transitionCampaign(
  deps: UseCaseDeps,
  actor: Actor,
  campaignId: string,
  action: CampaignAction,
  note?: string,
) {
  const record = await campaignInScope(deps, actor, campaignId);
  const now = deps.now();
  const plan = planTransition(record, action, actor, now, note);
  // Conditional on the version read too: an edit in between makes this transition lose (409).
  const moved = await applyTransition(deps.repo, record, plan);
  if (!moved)
    throw new ConflictError(`campaign "${record.campaignId}" changed meanwhile; reload and try again`);
  // A paused campaign's sends are parked: a resume or a cancel has the next release wake them.
  if (record.status === "paused" && (action === "resume" || action === "cancel"))
    await wakeCampaign(deps.repo, record.campaignId, now.toISOString());
  let executionId: string | undefined;
  if (action === "launch") {
    if (!deps.startLaunch) throw new Error("no launch workflow is wired to this use case");
    try {
      ({ executionId } = await deps.startLaunch(record.campaignId, record.version, now.toISOString()));
    } catch (err) {
      await revertLaunch(deps.repo, record.campaignId);
      throw err;
    }
  }
  const after = await loadCampaign(deps.repo, record.campaignId);
  // A submitted version gets its exact dry run at once, for the approver to read (issue 21).
  const dryRunId = action === "submit" ? await startSubmittedDryRun(deps, actor, after, now) : undefined;
  await appendAudit(deps, {
    entity: "campaign",
    entityId: record.campaignId,
    action,
    actor: auditActor(actor),
    at: now.toISOString(),
    before: { status: record.status, version: record.version },
    after: {
      status: after.status,
      version: after.version,
      ...(executionId ? { executionId } : {}),
      ...(dryRunId ? { dryRunId } : {}),
    },
    ...(note ? { note } : {}),
  });
  return { record: after, executionId };
}

/** Starts the exact dry run of a just-submitted version; a failure to start is logged, never fails the submit. */
async function startSubmittedDryRun(
  deps: UseCaseDeps,
  actor: Actor,
  record: CampaignRecord,
  now: Date,
): Promise<string | undefined> {
  if (!deps.startDryRun) return undefined;
  try {
    const job = await createDryRun(deps.repo, {
      campaign: parseCampaign(record.campaign, deps.config),
      version: record.version,
      createdBy: actor.userId,
      ...(record.branchId ? { branchId: record.branchId } : {}),
      now,
    });
    await deps.startDryRun(job.jobId);
    return job.jobId;
  } catch (err) {
    logger.warn("could not start the submitted version's dry run", {
      campaignId: record.campaignId,
      error: err as Error,
    });
    return undefined;
  }
}

/**
 * The launch workflow's outcome in the trail (`launching → launched`, or `failed`), once per launch
 * however often it is called: the workflow's Finalize step calls it, on AWS and on the embedded runtime
 * (idempotent by the campaign's version and launch time, so a retried Finalize appends nothing twice).
 */
export async function recordLaunchOutcome(deps: UseCaseDeps, campaignId: string) {
  const record = await findCampaign(deps.repo, campaignId);
  if (!record || (record.status !== "launched" && record.status !== "failed")) return undefined;
  return appendAudit(deps, {
    entity: "campaign",
    entityId: campaignId,
    action: record.status === "launched" ? "launched" : "launch_failed",
    actor: { userId: "launch-workflow", role: "system" },
    at: deps.now().toISOString(),
    before: { status: "launching", version: record.version },
    after: {
      status: record.status,
      version: record.version,
      ...(record.summary ? { summary: record.summary } : {}),
      ...(record.error ? { error: record.error } : {}),
    },
    onceKey: `outcome:v${record.version}:${record.launchedAt ?? ""}`,
  });
}

/**
 * The operator's launch on the embedded runtime (`tiercast launch FILE`): no approval (README), but the
 * same trail as the API's: the definition if it changed, the launch, and the workflow's outcome.
 */
export async function operatorLaunch<T>(
  deps: UseCaseDeps,
  actor: Actor,
  campaign: ResolvedCampaign,
  run: () => Promise<T>,
): Promise<T> {
  const before = await findCampaign(deps.repo, campaign.campaignId);
  if (before) assertInScope(actor, `campaign "${campaign.campaignId}"`, before.branchId);
  const now = deps.now();
  const saved = await saveCampaign(deps.repo, campaign, now);
  if (!before || before.version !== saved.version) await auditSaved(deps, actor, now, saved, before);
  await appendAudit(deps, {
    entity: "campaign",
    entityId: campaign.campaignId,
    action: "launch",
    actor: auditActor(actor),
    at: now.toISOString(),
    before: { status: saved.status, version: saved.version },
    after: { status: "launching", version: saved.version },
  });
  // The workflow's Finalize step records the outcome (`launched` or `failed`) in the trail.
  return run();
}

export async function campaignAudit(deps: UseCaseDeps, actor: Actor, campaignId: string) {
  await campaignInScope(deps, actor, campaignId);
  return readAudit(deps, "campaign", campaignId);
}

/** What changed since the version last approved: the approver sees the edit, not only the result. */
export async function campaignChanges(deps: UseCaseDeps, actor: Actor, campaignId: string) {
  const record = await campaignInScope(deps, actor, campaignId);
  const { entries } = await readAudit(deps, "campaign", campaignId);
  const approvals = entries
    .filter((e) => e.action === "approve")
    .map((e) => ({
      version: Number((e.after as { version?: number } | undefined)?.version),
      by: e.actor.userId,
      at: e.at,
    }))
    .filter((a) => Number.isInteger(a.version));
  return changesSinceApproval(deps.repo, record, approvals);
}
