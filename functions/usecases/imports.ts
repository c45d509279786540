import { assertInScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import {
  createImportJob,
  importJobProgress,
  loadImportJob,
  type ObjectStore,
} from "#functions/import/job.ts";
import { ConflictError, NotFoundError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/** Import jobs (the nightly-export path): the bucket and the runner are the deployment's. */
export interface ImportJobDeps extends UseCaseDeps {
  objects?: ObjectStore;
  startImportJob?: (jobId: string) => Promise<void>;
}

function objectsOf(deps: ImportJobDeps): ObjectStore {
  if (!deps.objects)
    throw new NotFoundError("import jobs are not configured on this deployment (no import bucket)");
  return deps.objects;
}

export async function importJobInScope(deps: ImportJobDeps, actor: Actor, jobId: string) {
  const job = await loadImportJob(deps.repo, jobId);
  assertInScope(actor, `import job ${jobId}`, job.branchId);
  return job;
}

/** A job of the actor's branch (its rows are confined to it when it runs), with its upload URL. */
export async function createImportJobAs(
  deps: ImportJobDeps,
  actor: Actor,
  input: { format?: string; encoding?: string; sheet?: string },
) {
  const created = await createImportJob(
    { repo: deps.repo, objects: objectsOf(deps), now: deps.now },
    { ...input, createdBy: actor.userId, ...(actor.branchId ? { branchId: actor.branchId } : {}) },
  );
  await appendAudit(deps, {
    entity: "import",
    entityId: created.job.jobId,
    action: "create",
    actor: auditActor(actor),
    at: deps.now().toISOString(),
    after: { format: created.job.format, objectKey: created.job.objectKey },
  });
  return created;
}

/** Starts (or resumes) an uploaded job; a finished one only reports its progress. */
export async function startImportJobAs(deps: ImportJobDeps, actor: Actor, jobId: string) {
  const objects = objectsOf(deps);
  const job = await importJobInScope(deps, actor, jobId);
  if (job.status === "done" || job.status === "failed")
    return { started: false, progress: await importJobProgress(deps.repo, job.jobId) };
  if ((await objects.size(job.objectKey)) === undefined)
    throw new ConflictError(
      `import job ${job.jobId}: nothing uploaded yet (PUT the file to its uploadUrl first)`,
    );
  if (!deps.startImportJob) throw new NotFoundError("import jobs cannot run on this deployment");
  await deps.startImportJob(job.jobId);
  await appendAudit(deps, {
    entity: "import",
    entityId: job.jobId,
    action: "start",
    actor: auditActor(actor),
    at: deps.now().toISOString(),
    before: { status: job.status, run: job.run },
  });
  return { started: true, progress: await importJobProgress(deps.repo, job.jobId) };
}
