import { assertInScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import {
  campaignDryRuns,
  createDryRun,
  type DryRunView,
  definitionHash,
  dryRunView,
  loadDryRun,
} from "#functions/dryrun/job.ts";
import { NotFoundError } from "#platform/errors.ts";
import { campaignFromBody, campaignInScope } from "./campaigns.ts";
import type { UseCaseDeps } from "./context.ts";

/** Dry-run jobs: the runner is the deployment's (in process locally, the dry-run queue's worker on AWS). */
export interface DryRunUseCaseDeps extends UseCaseDeps {
  secret: string;
  startDryRun?: (jobId: string) => Promise<void>;
}

function runnerOf(deps: DryRunUseCaseDeps) {
  if (!deps.startDryRun) throw new NotFoundError("dry-run jobs cannot run on this deployment");
  return deps.startDryRun;
}

/** The exact dry run of a saved campaign's current version, started in the background. */
export async function startCampaignDryRun(deps: DryRunUseCaseDeps, actor: Actor, campaignId: string) {
  const start = runnerOf(deps);
  const record = await campaignInScope(deps, actor, campaignId);
  const campaign = parseCampaign(record.campaign, deps.config);
  const job = await createDryRun(deps.repo, {
    campaign,
    version: record.version,
    createdBy: actor.userId,
    ...(record.branchId ? { branchId: record.branchId } : {}),
    now: deps.now(),
  });
  await start(job.jobId);
  return dryRunView(deps.repo, await loadDryRun(deps.repo, job.jobId));
}

/** The exact dry run of a campaign body (the builder's "exact count" before saving). */
export async function startBodyDryRun(deps: DryRunUseCaseDeps, actor: Actor, body: unknown) {
  const start = runnerOf(deps);
  const campaign = campaignFromBody(deps, actor, body);
  const job = await createDryRun(deps.repo, {
    campaign,
    createdBy: actor.userId,
    ...(actor.branchId ? { branchId: actor.branchId } : {}),
    now: deps.now(),
  });
  await start(job.jobId);
  return dryRunView(deps.repo, await loadDryRun(deps.repo, job.jobId));
}

export async function dryRunInScope(deps: UseCaseDeps, actor: Actor, jobId: string) {
  const job = await loadDryRun(deps.repo, jobId);
  assertInScope(actor, `dry run ${jobId}`, job.branchId);
  return dryRunView(deps.repo, job);
}

export interface CampaignDryRunView {
  campaignId: string;
  currentVersion: number;
  /**
   * `current`: the latest dry run of the version as it stands (by its definition); `older_version`:
   * the latest one is of an earlier definition; `missing`: none has been started.
   */
  state: "current" | "older_version" | "missing";
  /** The latest dry run of the current definition, else the campaign's latest dry run, else null. */
  dryRun: DryRunView | null;
}

/**
 * What the approval page shows: the latest dry run of the version under approval, matched by its
 * definition (a run started from the builder's body counts once that body is what was saved).
 */
export async function campaignDryRun(
  deps: UseCaseDeps,
  actor: Actor,
  campaignId: string,
): Promise<CampaignDryRunView> {
  const record = await campaignInScope(deps, actor, campaignId);
  const hash = definitionHash(parseCampaign(record.campaign, deps.config));
  const runs = await campaignDryRuns(deps.repo, record.campaignId);
  const current = runs.find((r) => r.definitionHash === hash);
  const chosen = current ?? runs[0];
  return {
    campaignId: record.campaignId,
    currentVersion: record.version,
    state: current ? "current" : chosen ? "older_version" : "missing",
    dryRun: chosen ? await dryRunView(deps.repo, await loadDryRun(deps.repo, chosen.jobId)) : null,
  };
}
