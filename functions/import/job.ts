import { Readable } from "node:stream";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { confineToBranch } from "#functions/access/scope.ts";
import { localDay } from "#functions/campaign/time.ts";
import { upsertCustomers } from "#functions/customers/store.ts";
import { importConversions } from "#functions/growth/conversions.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { ConflictError, InputError } from "#platform/errors.ts";
import { hash32 } from "#platform/hash.ts";
import { checkpointJob, claimJob, createJob, finishJob, type JobTable, loadJob } from "#platform/jobs.ts";
import { batchWrite, type Repo } from "#platform/repo.ts";
import { importRecords } from "./core.ts";
import { type Encoding, parseEncoding } from "./encoding.ts";
import { readRecords, type SourceRecord } from "./parse.ts";
import { readXlsx } from "./xlsx.ts";

/**
 * The nightly-export path: a bank uploads its file to object storage (a presigned PUT: API Gateway
 * takes at most 10 MB, Lambda 6 MB), then an import job streams the object, reports every rejected
 * line, and checkpoints after each stored batch, so a run cut off by a Lambda timeout resumes from
 * the byte offset of its last checkpoint. This module is the only writer of job items.
 */

/** S3 on AWS; the embedded runtime's local S3-compatible server (s3rver) locally. */
export interface ObjectStore {
  /** Size in bytes, or undefined when nothing has been uploaded. */
  size(key: string): Promise<number | undefined>;
  /** The object's bytes from `start` (a ranged GET). */
  read(key: string, start: number): AsyncIterable<Uint8Array>;
  /** A URL to PUT the file to, valid for `seconds`. */
  /** A presigned PUT, and when the credentials that signed it expire if that is known (the URL dies with them). */
  uploadUrl(key: string, seconds: number): Promise<{ url: string; signedUntil?: Date }>;
}

/** Every upload's key starts with it: the API may PUT and the worker GET only under it (infra/). */
export const IMPORT_OBJECT_PREFIX = "imports/";

export type JobFormat = "jsonl" | "csv" | "xlsx";
export type JobStatus = "awaiting_upload" | "running" | "done" | "failed";

export interface ImportJob {
  jobId: string;
  objectKey: string;
  format: JobFormat;
  /** `auto` until the first run has sniffed it; then fixed, so a resume reads the same way. */
  encoding: Encoding | "auto";
  sheet?: string;
  header?: string[];
  status: JobStatus;
  bytesTotal?: number;
  /** Everything before this byte offset is stored or rejected… */
  offset: number;
  /** …and it starts this line. */
  nextLine: number;
  imported: number;
  rejected: number;
  /** Incremented by each run; a checkpoint is written only by the run that holds it. */
  run: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  /** A branch user's job stores only their branch's rows (the others are rejected by line). */
  branchId?: string;
  error?: string;
}

const jobKey = (jobId: string) => ({ PK: `IMPORT#${jobId}`, SK: "JOB" });
const jobTable = (repo: Repo): JobTable => ({ repo, key: jobKey, type: "import-job", noun: "import job" });
const rejectionKey = (jobId: string, line: number) => ({
  PK: `IMPORT#${jobId}`,
  SK: `REJ#${String(line).padStart(12, "0")}`,
});

export interface JobDeps {
  repo: Repo;
  objects: ObjectStore;
  now: () => Date;
}

export async function createImportJob(
  deps: JobDeps,
  input: { format?: string; encoding?: string; sheet?: string; createdBy: string; branchId?: string },
): Promise<{ job: ImportJob; uploadUrl: string; expiresAt: string }> {
  const format = input.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv" && format !== "xlsx")
    throw new InputError(`format must be jsonl, csv or xlsx, got "${format}"`);
  if (input.sheet !== undefined && format !== "xlsx") throw new InputError("sheet applies to xlsx only");
  const encoding = input.encoding === undefined ? "auto" : parseEncoding(input.encoding);
  const now = deps.now();
  const stamp = now.toISOString().replace(/[-:.TZ]/g, "");
  // Derived, not random: the creator and the instant name the job (a same-millisecond repeat is a 409).
  const jobId = `imp-${stamp}-${hash32(`${input.createdBy}#${now.toISOString()}`).toString(36).slice(0, 6)}`;
  const job: ImportJob = {
    jobId,
    objectKey: `${IMPORT_OBJECT_PREFIX}${jobId}.${format}`,
    format,
    encoding,
    ...(input.sheet !== undefined ? { sheet: input.sheet } : {}),
    status: "awaiting_upload",
    offset: 0,
    nextLine: 1,
    imported: 0,
    rejected: 0,
    run: 0,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    createdBy: input.createdBy,
    ...(input.branchId ? { branchId: input.branchId } : {}),
  };
  await createJob(jobTable(deps.repo), job);
  const upload = await deps.objects.uploadUrl(job.objectKey, UPLOAD_SECONDS);
  return { job, uploadUrl: upload.url, expiresAt: uploadExpiry(now, upload.signedUntil).toISOString() };
}

const UPLOAD_SECONDS = 3600;

/**
 * When an upload URL stops working: an hour after it was made, or earlier when the credentials that
 * signed it expire first (a Lambda role's session credentials can), so the advertised time is never late.
 */
export function uploadExpiry(now: Date, signedUntil?: Date): Date {
  const hour = now.getTime() + UPLOAD_SECONDS * 1000;
  return new Date(signedUntil ? Math.min(hour, signedUntil.getTime()) : hour);
}

export async function loadImportJob(repo: Repo, jobId: string): Promise<ImportJob> {
  return loadJob<ImportJob>(jobTable(repo), jobId);
}

/** What a person watching the job sees: how far, how many, and the rejected lines page by page. */
export async function importJobProgress(repo: Repo, jobId: string, cursor?: string, limit = 1000) {
  const job = await loadImportJob(repo, jobId);
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :rej)",
      ExpressionAttributeValues: { ":pk": jobKey(jobId).PK, ":rej": "REJ#" },
      Limit: limit,
      ...(cursor
        ? { ExclusiveStartKey: { PK: jobKey(jobId).PK, SK: rejectionKey(jobId, Number(cursor)).SK } }
        : {}),
    }),
  );
  const rejections = (out.Items ?? []).map((i) => ({ line: i.line as number, error: i.error as string }));
  const last = rejections.at(-1);
  return {
    jobId,
    status: job.status,
    format: job.format,
    encoding: job.encoding,
    bytesTotal: job.bytesTotal ?? null,
    bytesDone: job.offset,
    percent: job.bytesTotal ? Math.floor((job.offset / job.bytesTotal) * 1000) / 10 : 0,
    imported: job.imported,
    rejected: job.rejected,
    runs: job.run,
    updatedAt: job.updatedAt,
    ...(job.error ? { error: job.error } : {}),
    rejections,
    nextCursor: out.LastEvaluatedKey && last ? String(last.line) : null,
  };
}

/** Another run took the job over (or it finished) while this one was writing: stop, nothing is lost. */
export class JobTakenOverError extends ConflictError {}

export interface RunOptions {
  config: TiercastConfig;
  /** Milliseconds this invocation has left (Lambda's getRemainingTimeInMillis); none: run to the end. */
  timeLeft?: () => number;
  /** Stop taking new records when less than this is left (the in-flight batches still finish). */
  marginMs?: number;
  batchSize?: number;
}

/**
 * Runs (or resumes) a job until the object is read or time runs short; returns the job as it stands.
 * Called again while `status` is `running`, it goes on from the last checkpoint: rows after it are
 * upserted again (idempotent) and counted once, rejections are keyed by line (written once).
 */
export async function runImportJob(deps: JobDeps, jobId: string, options: RunOptions): Promise<ImportJob> {
  let job = await loadImportJob(deps.repo, jobId);
  if (job.status === "done" || job.status === "failed") return job;
  const size = await deps.objects.size(job.objectKey);
  if (size === undefined)
    throw new ConflictError(
      `import job ${jobId}: nothing uploaded yet (PUT the file to its uploadUrl first)`,
    );
  const table = jobTable(deps.repo);
  const now = () => deps.now().toISOString();
  // Claim the job for this run: a checkpoint of an older run that is still going fails its condition.
  // Whichever write finds the job claimed by another run (this claim, from a stale read, or a later
  // checkpoint or finish) stops this run as taken over: the handler drops its message.
  const lost = () => new JobTakenOverError(`import job ${jobId} was taken over by another run`);
  const run = await claimJob(table, job, { set: { bytesTotal: size }, now: now(), lost });
  job = { ...job, status: "running", run, bytesTotal: size };

  let encoding = job.encoding;
  let header = job.header;
  const xlsx = job.format === "xlsx";
  const source: AsyncIterable<SourceRecord> = xlsx
    ? // A zip cannot be entered mid-way: the workbook is read again and the rows already done are skipped.
      skipLines(
        readXlsx(Readable.from(deps.objects.read(job.objectKey, 0)), { sheet: job.sheet }),
        job.nextLine,
      )
    : readRecords(deps.objects.read(job.objectKey, job.offset), {
        format: job.format as "jsonl" | "csv",
        encoding,
        startOffset: job.offset,
        startLine: job.nextLine,
        ...(header ? { header } : {}),
        onEncoding: (e) => {
          encoding = e;
        },
        onHeader: (h) => {
          header = h;
        },
      });

  const timeLeft = options.timeLeft;
  const margin = options.marginMs ?? 60_000;
  let stopped = false;
  async function* untilTimeIsShort(): AsyncGenerator<SourceRecord> {
    for await (const scoped of confineToBranch(deps.repo, job.branchId, source)) {
      yield scoped;
      if (timeLeft && timeLeft() < margin) {
        stopped = true;
        return;
      }
    }
  }

  const pending: { line: number; error: string }[] = [];
  let imported = job.imported;
  let rejected = job.rejected;
  const checkpoint = async (done: { line: number; end?: number; next?: number; stored: number }) => {
    const upTo = pending.filter((r) => r.line <= done.line);
    const later = pending.filter((r) => r.line > done.line);
    pending.splice(0, pending.length, ...later);
    if (upTo.length)
      await batchWrite(
        deps.repo.ddb,
        deps.repo.table,
        upTo.map((r) => ({
          PutRequest: { Item: { ...rejectionKey(jobId, r.line), type: "import-rejection", jobId, ...r } },
        })),
        2,
      );
    imported += done.stored;
    rejected += upTo.length;
    const offset = xlsx ? 0 : (done.end ?? job.offset);
    const nextLine = done.next ?? done.line + 1;
    await checkpointJob(table, jobId, run, {
      set: { offset, nextLine, imported, rejected, encoding, ...(header ? { header } : {}) },
      now: now(),
      lost,
    });
    job = { ...job, offset, nextLine, imported, rejected, encoding, ...(header ? { header } : {}) };
  };

  const updatedAt = now();
  const month = localDay(new Date(updatedAt), options.config.quietHours.timeZone).slice(0, 7);
  const conversions = importConversions(deps.repo, options.config, new Date(updatedAt));
  try {
    await importRecords(untilTimeIsShort(), {
      config: options.config,
      batchSize: options.batchSize,
      write: async (customers) => {
        const changes = await upsertCustomers(deps.repo, customers, { updatedAt, month, concurrency: 2 });
        await conversions.apply(changes);
      },
      onRejected: (r) => pending.push(r),
      onStored: checkpoint,
    });
  } catch (err) {
    if (err instanceof InputError) {
      // The file itself is unreadable (a doubtful encoding, not a workbook): the job fails, with why.
      await finishJob(table, jobId, run, { status: "failed", error: err.message, now: now(), lost });
      return { ...job, status: "failed", error: err.message };
    }
    throw err; // a store outage or a timeout: the job stays running, a later run resumes it
  }
  if (stopped) return job;
  // The whole object is read: the stored offset is its size (the bytesTotal this run's claim wrote).
  await finishJob(table, jobId, run, { status: "done", set: { offset: size }, now: now(), lost });
  return { ...job, status: "done", offset: xlsx ? 0 : size };
}

async function* skipLines(records: AsyncIterable<SourceRecord>, from: number): AsyncGenerator<SourceRecord> {
  for await (const r of records) if (r.line >= from) yield { ...r, next: r.line + 1 };
}
