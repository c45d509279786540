import { S3Client } from "@aws-sdk/client-s3";
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import iconv from "iconv-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { getCustomer } from "#functions/customers/store.ts";
import {
  createImportJob,
  importJobProgress,
  JobTakenOverError,
  loadImportJob,
  type ObjectStore,
  runImportJob,
} from "#functions/import/job.ts";
import { s3Objects } from "#functions/import/objects.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { LOCAL_IMPORT_BUCKET, LOCAL_S3_CREDENTIALS, startS3 } from "#local/s3.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { parseConfig } from "#platform/config.ts";
import { Repo } from "#platform/repo.ts";
import { tempDir } from "../helpers.ts";

const AT = "2027-03-01T02:00:00.000Z";
const config = parseConfig({});
let runtime: Runtime;
let objects: ObjectStore;
let stopS3: () => Promise<void>;

/** A bank's nightly export: GBK CSV, a quoted multi-line address, a bad row every 500. */
function nightlyExport(rows: number, prefix: string) {
  const lines = ["customerId,name,aum,address,openedAt"];
  const bad = new Set<number>();
  for (let i = 1; i <= rows; i++) {
    // Header on line 1; row 1 spans lines 2-3 (a quoted line break); row i ≥ 2 is on line i + 2.
    const line = i === 1 ? 2 : i + 2;
    if (i % 500 === 0 || i === rows - 1) bad.add(line);
    lines.push(
      `${prefix}${i},欧阳${i % 7 === 0 ? "娜娜" : "伟"},${i % 500 === 0 ? "1e308" : 1000 + i},${i === 1 ? '"北京市\n朝阳区"' : "上海"},${i === rows - 1 ? "2027-02-30" : "2020-01-01"}`,
    );
  }
  return { bytes: iconv.encode(`${lines.join("\n")}\n`, "gbk"), bad };
}

async function upload(url: string, body: Buffer) {
  const res = await fetch(url, { method: "PUT", body });
  expect(res.status).toBe(200);
}

describe("import jobs: presigned upload, streamed from S3, resumable by byte offset", () => {
  beforeAll(async () => {
    runtime = await startRuntime({ config, at: new Date(AT) });
    const s3 = await startS3(tempDir("tiercast-s3-test-"), LOCAL_IMPORT_BUCKET);
    stopS3 = s3.stop;
    objects = s3Objects(
      LOCAL_IMPORT_BUCKET,
      new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: LOCAL_S3_CREDENTIALS,
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await stopS3?.();
    await runtime?.stop();
  });

  // A clock that moves, as a real one does (job ids are derived from the creator and the instant).
  let tick = 0;
  const deps = () => ({ repo: runtime.repo, objects, now: () => new Date(Date.parse(AT) + tick++) });

  async function allRejections(jobId: string) {
    const lines: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await importJobProgress(runtime.repo, jobId, cursor, 7);
      lines.push(...page.rejections.map((r) => r.line));
      if (!page.nextCursor) return lines;
      cursor = page.nextCursor;
    }
  }

  it("stops before a Lambda timeout, then resumes from its byte offset: every row once, every bad line once", async () => {
    const { bytes, bad } = nightlyExport(6000, "NJ");
    const { job, uploadUrl } = await createImportJob(deps(), { format: "csv", createdBy: "mia" });
    await upload(uploadUrl, bytes);

    let calls = 0;
    const first = await runImportJob(deps(), job.jobId, {
      config,
      batchSize: 200,
      timeLeft: () => (++calls < 2500 ? 600_000 : 1_000),
    });
    expect(first.status).toBe("running");
    expect(first.encoding).toBe("gb18030");
    const mid = await importJobProgress(runtime.repo, job.jobId);
    expect(mid.bytesDone).toBeGreaterThan(0);
    expect(mid.bytesDone).toBeLessThan(bytes.length);
    expect(mid.percent).toBeGreaterThan(0);
    expect(mid.percent).toBeLessThan(100);
    expect(await getCustomer(runtime.repo, "NJ5999")).toBeUndefined();

    const second = await runImportJob(deps(), job.jobId, { config, batchSize: 200 });
    expect(second.status).toBe("done");
    const done = await importJobProgress(runtime.repo, job.jobId);
    expect(done).toMatchObject({ status: "done", bytesDone: bytes.length, percent: 100, runs: 2 });
    expect(done.imported).toBe(6000 - bad.size);
    expect(done.rejected).toBe(bad.size);
    expect(await allRejections(job.jobId)).toEqual([...bad].sort((a, b) => a - b));
    expect(await getCustomer(runtime.repo, "NJ1")).toMatchObject({ name: "欧阳伟" });
    expect(await getCustomer(runtime.repo, "NJ5999")).toBeUndefined(); // 2027-02-30
    expect(await getCustomer(runtime.repo, "NJ5998")).toMatchObject({ name: "欧阳伟", aum: 6998 });
  }, 300_000);

  it("survives a run that dies mid-way (no clean stop): the next run resumes from the last checkpoint", async () => {
    const { bytes, bad } = nightlyExport(3000, "ND");
    const { job, uploadUrl } = await createImportJob(deps(), {
      format: "csv",
      encoding: "gbk",
      createdBy: "mia",
    });
    await upload(uploadUrl, bytes);
    // A store that fails after 5 batches of 100 rows (4 BatchWriteItem requests each), as if the invocation were killed there.
    let writes = 0;
    const real = runtime.repo.ddb;
    const failing = {
      send: (command: unknown) => {
        if (command instanceof BatchWriteCommand && ++writes > 20)
          return Promise.reject(new Error("Task timed out after 900.00 seconds"));
        return real.send(command as Parameters<typeof real.send>[0]);
      },
    } as unknown as DynamoDBDocumentClient;
    const dying = new Repo(failing, runtime.repo.table);
    await expect(
      runImportJob({ ...deps(), repo: dying }, job.jobId, { config, batchSize: 100 }),
    ).rejects.toThrow(/timed out/);
    const cut = await loadImportJob(runtime.repo, job.jobId);
    expect(cut.status).toBe("running");
    expect(cut.offset).toBeGreaterThan(0);

    const resumed = await runImportJob(deps(), job.jobId, { config, batchSize: 100 });
    expect(resumed.status).toBe("done");
    const done = await importJobProgress(runtime.repo, job.jobId);
    expect(done.imported).toBe(3000 - bad.size);
    expect(await allRejections(job.jobId)).toEqual([...bad].sort((a, b) => a - b));
  }, 300_000);

  it("two deliveries of one job racing for its claim: the loser stops as taken over, the winner imports every row once", async () => {
    const { bytes, bad } = nightlyExport(600, "RC");
    const { job, uploadUrl } = await createImportJob(deps(), {
      format: "csv",
      encoding: "gbk",
      createdBy: "mia",
    });
    await upload(uploadUrl, bytes);
    // Both read the job before either claims it: the claims (the first UpdateItem of each) meet.
    const real = runtime.repo.ddb;
    const claims: (() => void)[] = [];
    const racing = {
      send: async (command: unknown) => {
        if (command instanceof UpdateCommand && claims.length < 2) {
          await new Promise<void>((resolve) => {
            claims.push(resolve);
            if (claims.length === 2) for (const go of claims) go();
          });
        }
        return real.send(command as Parameters<typeof real.send>[0]);
      },
    } as unknown as DynamoDBDocumentClient;
    const repo = new Repo(racing, runtime.repo.table);
    const outcomes = await Promise.allSettled([
      runImportJob({ ...deps(), repo }, job.jobId, { config, batchSize: 100 }),
      runImportJob({ ...deps(), repo }, job.jobId, { config, batchSize: 100 }),
    ]);
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(lost).toHaveLength(1);
    // Not the store's raw ConditionalCheckFailedException, which the queue would retry as a failure.
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(JobTakenOverError);
    const done = await importJobProgress(runtime.repo, job.jobId);
    expect(done.status).toBe("done");
    expect(done.imported).toBe(600 - bad.size);
  }, 120_000);

  it("fails a job whose file is not readable, saying why", async () => {
    const { job, uploadUrl } = await createImportJob(deps(), { format: "csv", createdBy: "mia" });
    await upload(uploadUrl, iconv.encode("customerId,name\nB1,張偉國際\nB2,陳美玲\n", "big5"));
    const out = await runImportJob(deps(), job.jobId, { config });
    expect(out.status).toBe("failed");
    expect((await importJobProgress(runtime.repo, job.jobId)).error).toMatch(/encoding/);
    expect(await getCustomer(runtime.repo, "B1")).toBeUndefined();
  });
});

describe("import jobs through the API on the embedded runtime", () => {
  let served: Runtime;
  let server: LocalServer;
  let token = "";
  beforeAll(async () => {
    served = await startRuntime({ config, at: new Date(AT) });
    server = await startServe(served, { schedulerMs: 0, webDir: false });
    token = (await addUser(served.repo, { userId: "mia", role: "marketer" }, new Date(AT))).token;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await served?.stop();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it("creates a job, takes the upload at its presigned URL, runs it and shows progress to the end", async () => {
    const created = await api("POST", "/api/imports", { format: "csv" });
    expect(created.status).toBe(201);
    const { jobId, uploadUrl } = created.json as { jobId: string; uploadUrl: string };
    expect((await api("POST", `/api/imports/${jobId}/start`, {})).status).toBe(409); // nothing uploaded yet
    const { bytes, bad } = nightlyExport(2000, "NA");
    await upload(uploadUrl, bytes);
    expect((await api("POST", `/api/imports/${jobId}/start`, {})).status).toBe(202);
    const deadline = Date.now() + 120_000;
    let progress = (await api("GET", `/api/imports/${jobId}`)).json;
    while (progress.status !== "done" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      progress = (await api("GET", `/api/imports/${jobId}`)).json;
    }
    expect(progress).toMatchObject({
      status: "done",
      percent: 100,
      imported: 2000 - bad.size,
      rejected: bad.size,
    });
    expect((await getCustomer(served.repo, "NA7"))?.name).toBe("欧阳娜娜");
  }, 300_000);
});
