import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError, NotFoundError } from "./errors.ts";
import { isConditionFailed, type Repo } from "./repo.ts";

/**
 * A job record: one item that a worker claims for a run, checkpoints while it works and finishes.
 * Each claim increments `run` on the condition that it is still the run the worker read, and every
 * later write of that run is conditional on `run` being unchanged, so a duplicate delivery's later
 * claim makes the older run's next write fail and it stops. The job's owner module (import/job.ts,
 * dryrun/job.ts) builds the key and says what its fields are; this module only writes them.
 */

export interface JobRecord {
  jobId: string;
  status: string;
  /** Incremented by each claim; a write is made only by the run that holds it. */
  run: number;
  updatedAt: string;
  error?: string;
}

export interface JobTable {
  repo: Repo;
  key: (jobId: string) => { PK: string; SK: string };
  /** The item's `type` attribute. */
  type: string;
  /** How errors name the job: `no ${noun} "…"`, `${noun} … exists`. */
  noun: string;
}

/** Stores a new job; a job id already taken is a ConflictError (ids are derived from an instant). */
export async function createJob(table: JobTable, job: JobRecord): Promise<void> {
  try {
    await table.repo.ddb.send(
      new PutCommand({
        TableName: table.repo.table,
        Item: { ...table.key(job.jobId), type: table.type, ...job },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
  } catch (err) {
    if (isConditionFailed(err)) throw new ConflictError(`${table.noun} ${job.jobId} exists; try again`);
    throw err;
  }
}

/** The job as stored (a consistent read), or a NotFoundError. */
export async function loadJob<J extends JobRecord>(table: JobTable, jobId: string): Promise<J> {
  const out = await table.repo.ddb.send(
    new GetCommand({ TableName: table.repo.table, Key: table.key(jobId), ConsistentRead: true }),
  );
  if (!out.Item) throw new NotFoundError(`no ${table.noun} "${jobId}"`);
  const { PK: _pk, SK: _sk, type: _t, ...job } = out.Item;
  return job as J;
}

/**
 * Claims the job for the run after `job.run`: status `running`, `set` written with it. Fails when
 * another run claimed it since `job` was read. Returns the new run number.
 */
export async function claimJob(
  table: JobTable,
  job: Pick<JobRecord, "jobId" | "run">,
  write: { set: Record<string, unknown>; now: string; lost: () => Error },
): Promise<number> {
  const run = job.run + 1;
  await updateJob(table, job.jobId, job.run, { ...write.set, status: "running", run }, write.now, write.lost);
  return run;
}

/** Writes a run's progress; fails when a later run holds the job. */
export async function checkpointJob(
  table: JobTable,
  jobId: string,
  run: number,
  write: { set: Record<string, unknown>; now: string; lost: () => Error },
): Promise<void> {
  await updateJob(table, jobId, run, write.set, write.now, write.lost);
}

/** Ends a run's job `done` or `failed` (with why), `set` written with it; fails when a later run holds it. */
export async function finishJob(
  table: JobTable,
  jobId: string,
  run: number,
  write: { status: string; error?: string; set?: Record<string, unknown>; now: string; lost: () => Error },
): Promise<void> {
  const set = { ...write.set, status: write.status, ...(write.error ? { error: write.error } : {}) };
  await updateJob(table, jobId, run, set, write.now, write.lost);
}

/** SET every field of `set` and updatedAt, on the condition that `run` is `expectedRun`. */
async function updateJob(
  table: JobTable,
  jobId: string,
  expectedRun: number,
  set: Record<string, unknown>,
  now: string,
  /**
   * The error to throw when the run no longer holds the job (a later run claimed it, or this run's read
   * was stale): every caller names it, so a run that lost its job stops as taken over, never with the
   * store's raw condition error (which a queue would retry as a failure).
   */
  lost: () => Error,
): Promise<void> {
  // Every name aliased: status, run, offset and error are DynamoDB reserved words.
  const fields = Object.entries({ ...set, updatedAt: now });
  const names: Record<string, string> = { "#run": "run" };
  const values: Record<string, unknown> = { ":expectedRun": expectedRun };
  const assignments = fields.map(([field, value], i) => {
    const name = field === "run" ? "#run" : `#f${i}`;
    names[name] = field;
    values[`:f${i}`] = value;
    return `${name} = :f${i}`;
  });
  try {
    await table.repo.ddb.send(
      new UpdateCommand({
        TableName: table.repo.table,
        Key: table.key(jobId),
        UpdateExpression: `SET ${assignments.join(", ")}`,
        ConditionExpression: "#run = :expectedRun",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (err) {
    if (lost && isConditionFailed(err)) throw lost();
    throw err;
  }
}
