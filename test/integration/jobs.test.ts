import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AWS } from "#local/aws.ts";
import { ensureTable, type LocalDynamo, startDynamo } from "#local/dynamo.ts";
import { documentClient } from "#platform/clients.ts";
import { ConflictError, NotFoundError } from "#platform/errors.ts";
import { checkpointJob, claimJob, createJob, finishJob, type JobTable, loadJob } from "#platform/jobs.ts";
import { Repo } from "#platform/repo.ts";

const TABLE = "jobs-test";
let dynamo: LocalDynamo;
let table: JobTable;

interface TestJob {
  jobId: string;
  status: string;
  run: number;
  updatedAt: string;
  offset: number;
  error?: string;
}

class TakenOverError extends ConflictError {}
const lost = () => new TakenOverError("taken");

const newJob = (jobId: string): TestJob => ({
  jobId,
  status: "queued",
  run: 0,
  updatedAt: "2027-03-01T00:00:00.000Z",
  offset: 0,
});

describe("job records: create, load, claim, checkpoint, finish", () => {
  beforeAll(async () => {
    dynamo = await startDynamo(undefined);
    await ensureTable(dynamo.endpoint, TABLE);
    const repo = new Repo(documentClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint }), TABLE);
    table = {
      repo,
      key: (jobId) => ({ PK: `TESTJOB#${jobId}`, SK: "JOB" }),
      type: "test-job",
      noun: "test job",
    };
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it("loads what was created, without its key or type; a job id taken twice is a conflict", async () => {
    await createJob(table, newJob("a"));
    expect(await loadJob<TestJob>(table, "a")).toEqual(newJob("a"));
    await expect(createJob(table, newJob("a"))).rejects.toThrow(
      new ConflictError("test job a exists; try again"),
    );
  });

  it("names the job in the not-found error", async () => {
    await expect(loadJob(table, "nope")).rejects.toThrow(new NotFoundError('no test job "nope"'));
  });

  it("claims, checkpoints and finishes in one run: each write lands with its updatedAt", async () => {
    await createJob(table, newJob("b"));
    const run = await claimJob(table, newJob("b"), {
      set: { offset: 0 },
      now: "2027-03-01T01:00:00.000Z",
      lost,
    });
    expect(run).toBe(1);
    expect(await loadJob(table, "b")).toMatchObject({ status: "running", run: 1 });
    await checkpointJob(table, "b", run, { set: { offset: 42 }, now: "2027-03-01T01:01:00.000Z", lost });
    expect(await loadJob(table, "b")).toMatchObject({ offset: 42, updatedAt: "2027-03-01T01:01:00.000Z" });
    await finishJob(table, "b", run, {
      status: "failed",
      error: "bad file",
      now: "2027-03-01T01:02:00.000Z",
      lost,
    });
    expect(await loadJob(table, "b")).toMatchObject({
      status: "failed",
      error: "bad file",
      run: 1,
      offset: 42,
    });
  });

  it("a later claim takes the job: the older run's writes fail with its lost error, never the store's raw one", async () => {
    await createJob(table, newJob("c"));
    const first = await claimJob(table, newJob("c"), { set: {}, now: "2027-03-01T01:00:00.000Z", lost });
    const second = await claimJob(
      table,
      { jobId: "c", run: first },
      { set: {}, now: "2027-03-01T01:00:01.000Z", lost },
    );
    expect(second).toBe(2);
    await expect(
      checkpointJob(table, "c", first, { set: { offset: 7 }, now: "x", lost }),
    ).rejects.toBeInstanceOf(TakenOverError);
    await expect(finishJob(table, "c", first, { status: "done", now: "x", lost })).rejects.toBeInstanceOf(
      TakenOverError,
    );
    // A claim from a stale read loses too.
    await expect(claimJob(table, newJob("c"), { set: {}, now: "x", lost })).rejects.toBeInstanceOf(
      TakenOverError,
    );
    expect(await loadJob(table, "c")).toMatchObject({ status: "running", run: 2, offset: 0 });
  });
});
