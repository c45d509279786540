import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type PreviewResult, previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { ConflictError, InputError } from "#platform/errors.ts";
import { checkpointJob, claimJob, createJob, finishJob, type JobTable, loadJob } from "#platform/jobs.ts";
import type { Repo } from "#platform/repo.ts";

/**
 * The exact dry run as a job (issue 21): every recipient decided as a launch would, nothing sent,
 * with its progress and its result stored, so the approver reads the result instead of running a
 * full dry run per page view. This module is the only writer of DRYRUN# and DRYRUNS# items:
 *   DRYRUN#<jobId> / JOB       the job: definition, status, progress
 *   DRYRUN#<jobId> / RESULT    the dry run's result once done
 *   DRYRUNS#<campaignId> / <createdAt>#<jobId>   the campaign's dry runs, newest last (for "the latest")
 * A run cannot resume mid-way (contact de-duplication is held in memory), so a run cut off is run
 * again from the start by the next one; each run claims the job (a conditional write on `run`) and
 * an older run's next checkpoint fails.
 */

export type DryRunStatus = "queued" | "running" | "done" | "failed";

export interface DryRunJob {
  jobId: string;
  campaignId: string;
  /** SHA-256 of the resolved definition: a dry run is for a definition, whichever door started it. */
  definitionHash: string;
  /** The saved version it was started for (absent for an unsaved body from the builder). */
  version?: number;
  campaign: ResolvedCampaign;
  /** The instant the recipients are decided at (quiet hours, dormancy, caps): when it was started. */
  at: string;
  status: DryRunStatus;
  run: number;
  tasksTotal: number;
  tasksDone: number;
  pagesDone: number;
  customersRead: number;
  recipientsDecided: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  branchId?: string;
  error?: string;
}

const jobKey = (jobId: string) => ({ PK: `DRYRUN#${jobId}`, SK: "JOB" });
const jobTable = (repo: Repo): JobTable => ({ repo, key: jobKey, type: "dry-run", noun: "dry run" });
const resultKey = (jobId: string) => ({ PK: `DRYRUN#${jobId}`, SK: "RESULT" });
const campaignIndex = (campaignId: string) => `DRYRUNS#${campaignId}`;

/** Keys sorted at every level, so the same definition always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

export function definitionHash(campaign: ResolvedCampaign): string {
  return createHash("sha256").update(canonical(campaign)).digest("hex");
}

export async function createDryRun(
  repo: Repo,
  input: {
    campaign: ResolvedCampaign;
    version?: number;
    createdBy: string;
    branchId?: string;
    now: Date;
  },
): Promise<DryRunJob> {
  const now = input.now.toISOString();
  const stamp = now.replace(/[-:.TZ]/g, "");
  // Random, not derived: the embedded runtime's clock starts at `--at` on every invocation.
  const jobId = `dry-${stamp}-${randomBytes(4).toString("hex")}`;
  const job: DryRunJob = {
    jobId,
    campaignId: input.campaign.campaignId,
    definitionHash: definitionHash(input.campaign),
    ...(input.version !== undefined ? { version: input.version } : {}),
    campaign: input.campaign,
    at: now,
    status: "queued",
    run: 0,
    tasksTotal: 0,
    tasksDone: 0,
    pagesDone: 0,
    customersRead: 0,
    recipientsDecided: 0,
    createdAt: now,
    updatedAt: now,
    createdBy: input.createdBy,
    ...(input.branchId ? { branchId: input.branchId } : {}),
  };
  await createJob(jobTable(repo), job);
  await repo.ddb.send(
    new PutCommand({
      TableName: repo.table,
      Item: {
        PK: campaignIndex(job.campaignId),
        SK: `${now}#${jobId}`,
        type: "dry-run-ref",
        jobId,
        definitionHash: job.definitionHash,
        ...(job.version !== undefined ? { version: job.version } : {}),
        createdAt: now,
      },
    }),
  );
  return job;
}

export async function loadDryRun(repo: Repo, jobId: string): Promise<DryRunJob> {
  return loadJob<DryRunJob>(jobTable(repo), jobId);
}

export async function loadDryRunResult(repo: Repo, jobId: string): Promise<PreviewResult | undefined> {
  const out = await repo.ddb.send(new GetCommand({ TableName: repo.table, Key: resultKey(jobId) }));
  return out.Item?.result as PreviewResult | undefined;
}

export interface DryRunView {
  jobId: string;
  campaignId: string;
  version: number | null;
  definitionHash: string;
  status: DryRunStatus;
  at: string;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  progress: {
    tasksDone: number;
    tasksTotal: number;
    percent: number;
    pagesDone: number;
    customersRead: number;
    recipientsDecided: number;
  };
  error?: string;
  result?: PreviewResult;
}

/** What a person watching the job sees: how far, and the result once done. */
export async function dryRunView(repo: Repo, job: DryRunJob): Promise<DryRunView> {
  const result = job.status === "done" ? await loadDryRunResult(repo, job.jobId) : undefined;
  return {
    jobId: job.jobId,
    campaignId: job.campaignId,
    version: job.version ?? null,
    definitionHash: job.definitionHash,
    status: job.status,
    at: job.at,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    createdBy: job.createdBy,
    progress: {
      tasksDone: job.tasksDone,
      tasksTotal: job.tasksTotal,
      percent:
        job.status === "done"
          ? 100
          : job.tasksTotal
            ? Math.floor((job.tasksDone / job.tasksTotal) * 1000) / 10
            : 0,
      pagesDone: job.pagesDone,
      customersRead: job.customersRead,
      recipientsDecided: job.recipientsDecided,
    },
    ...(job.error ? { error: job.error } : {}),
    ...(result ? { result } : {}),
  };
}

/** A campaign's dry runs, newest first (at most `limit`). */
export async function campaignDryRuns(repo: Repo, campaignId: string, limit = 25) {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": campaignIndex(campaignId) },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((i) => ({
    jobId: i.jobId as string,
    definitionHash: i.definitionHash as string,
    version: i.version as number | undefined,
    createdAt: i.createdAt as string,
  }));
}

export class DryRunTakenOverError extends ConflictError {}

export interface DryRunDeps {
  repo: Repo;
  config: TiercastConfig;
  secret: string;
  now: () => Date;
}

/**
 * Runs a job to the end (again from the start if a previous run was cut off) and stores its result.
 * Progress is written at most every `checkpointMs` and after each shard task. A campaign that no
 * longer validates against the config (it changed since the start) fails the job with why.
 */
export async function runDryRun(
  deps: DryRunDeps,
  jobId: string,
  options: { checkpointMs?: number; onProgress?: (job: DryRunJob) => void } = {},
): Promise<DryRunJob> {
  let job = await loadDryRun(deps.repo, jobId);
  if (job.status === "done" || job.status === "failed") return job;
  const table = jobTable(deps.repo);
  const stamp = () => deps.now().toISOString();
  const takenOver = () => new DryRunTakenOverError(`dry run ${jobId} was taken by a later run`);
  const run = await claimJob(table, job, {
    set: { tasksDone: 0, pagesDone: 0, customersRead: 0, recipientsDecided: 0 },
    now: stamp(),
    lost: () => new DryRunTakenOverError(`dry run ${jobId} was taken by another run`),
  });
  job = {
    ...job,
    status: "running",
    run,
    tasksDone: 0,
    pagesDone: 0,
    customersRead: 0,
    recipientsDecided: 0,
  };

  const checkpointMs = options.checkpointMs ?? 1000;
  let last = 0;
  let writing: Promise<void> = Promise.resolve();
  const progress = { tasksDone: 0, tasksTotal: 0, pagesDone: 0, customersRead: 0, recipientsDecided: 0 };
  const checkpoint = (force: boolean) => {
    const nowMs = Date.now();
    if (!force && nowMs - last < checkpointMs) return;
    last = nowMs;
    const snapshot = { ...progress };
    writing = writing.then(async () => {
      await checkpointJob(table, jobId, run, { set: snapshot, now: stamp(), lost: takenOver });
      job = { ...job, ...snapshot };
      options.onProgress?.(job);
    });
  };

  let result: PreviewResult;
  try {
    // Validated again: the config (schemes, templates' rules) may have changed since it was started.
    const campaign = parseCampaign(job.campaign, deps.config);
    result = await previewCampaign(deps.repo, campaign, deps.config, new Date(job.at), deps.secret, {
      onPage: (read, decided) => {
        progress.pagesDone++;
        progress.customersRead += read;
        progress.recipientsDecided += decided;
        checkpoint(false);
      },
      onTask: (done, total) => {
        progress.tasksDone = done;
        progress.tasksTotal = total;
        checkpoint(true);
      },
    });
    await writing;
  } catch (err) {
    await writing.catch(() => {});
    if (err instanceof InputError) {
      await finishJob(table, jobId, run, {
        status: "failed",
        error: err.message,
        now: stamp(),
        lost: takenOver,
      });
      return { ...job, status: "failed", error: err.message };
    }
    throw err; // a store outage: the job stays running, a later run starts it again
  }
  await deps.repo.ddb.send(
    new PutCommand({
      TableName: deps.repo.table,
      Item: { ...resultKey(jobId), type: "dry-run-result", jobId, run, result },
    }),
  );
  await finishJob(table, jobId, run, { status: "done", set: { ...progress }, now: stamp(), lost: takenOver });
  return { ...job, ...progress, status: "done" };
}
