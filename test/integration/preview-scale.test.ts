import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { estimateCampaign } from "#functions/campaign/estimate.ts";
import { type PreviewResult, previewCampaign } from "#functions/campaign/preview.ts";
import type { Count } from "#functions/campaign/sampling.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { createDryRun, DryRunTakenOverError, loadDryRun, runDryRun } from "#functions/dryrun/job.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

/**
 * Preview at any size (issue 21): the sampled estimate against the exact dry run on a synthetic bank,
 * and the exact dry run as a job (start → progress → result) that the approval view reads.
 */
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;
let server: LocalServer;
const api = apiCaller(() => server.url);
const tokens: Record<string, string> = {};

const campaign = (campaignId: string) =>
  dormantCampaign({
    campaignId,
    segment: { scheme: "retail", tiers: ["mass", "potential", "quality"], dormantDays: 180 },
    variants: [
      { id: "A", tiers: ["mass", "potential"], channel: "sms", template: "{{name|客户}}您好，欢迎回来" },
      {
        id: "B",
        tiers: ["quality"],
        channel: "email",
        subject: "礼遇",
        template: "<p>{{name|客户}}您好</p>",
      },
    ],
    holdoutPercent: 10,
  });

function within(c: Count, truth: number, label: string) {
  expect(c.low, `${label}: low ${c.low} ≤ ${truth}`).toBeLessThanOrEqual(truth);
  expect(c.high, `${label}: high ${c.high} ≥ ${truth}`).toBeGreaterThanOrEqual(truth);
}

async function waitDone(jobId: string) {
  for (let i = 0; i < 600; i++) {
    const res = await api("GET", `/api/dry-runs/${jobId}`, tokens.ari);
    if (res.json.status === "done" || res.json.status === "failed") return res.json;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dry run ${jobId} did not finish`);
}

describe("preview at any size", () => {
  beforeAll(async () => {
    runtime = await localBank(6000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    for (const [userId, role] of [
      ["mia", "marketer"],
      ["ari", "approver"],
      ["ann", "analyst"],
    ] as const)
      tokens[userId] = (await addUser(runtime.repo, { userId, role }, new Date(AT))).token;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("estimates from a bounded sample, and every count's interval holds the exact dry run's", async () => {
    const c = parseCampaign(campaign("est-1"), runtime.config);
    const now = new Date(AT);
    const exact = await previewCampaign(runtime.repo, c, runtime.config, now, runtime.secret);
    const est = await estimateCampaign(runtime.repo, c, runtime.config, now, runtime.secret, {
      sampleSize: 600,
    });
    expect(est.estimate).toBe(true);
    expect(est.method).toBe("sample");
    expect(est.notes.join(" ")).toMatch(/estimate/);
    // Bounded: at most (k + 1) per shard of each tier read, k = max(20, ceil(600 / 48)) = 20.
    expect(est.sample.customersRead).toBeLessThanOrEqual(3 * 16 * 20);
    expect(est.sample.customersRead).toBeLessThan(exact.audience);
    for (const s of Object.values(est.sample.strata)) expect(s.rate).toBeLessThan(1);
    within(est.audience, exact.audience, "audience");
    within(est.eligible, exact.eligible, "eligible");
    within(est.holdout, exact.holdout, "holdout");
    for (const [tier, t] of Object.entries(exact.byTier)) {
      within(est.byTier[tier]!.audience, t.audience, `${tier} audience`);
      within(est.byTier[tier]!.eligible, t.eligible, `${tier} eligible`);
      within(est.byTier[tier]!.excluded, t.excluded, `${tier} excluded`);
    }
    for (const [v, r] of Object.entries(exact.byVariant))
      within(est.byVariant[v]!.recipients, r.eligible + r.deferred, `variant ${v}`);
    within(est.sms.messages, exact.sms.messages, "sms messages");
    expect(est.audience.high).toBeGreaterThan(est.audience.low);
    // Not so wide it says nothing: within ±30% of the exact audience on ~170 decided.
    expect(est.audience.high - est.audience.low).toBeLessThan(0.6 * exact.audience);
  });

  it("is the exact dry run, with zero-width intervals, when the sample takes everyone", async () => {
    const c = parseCampaign(campaign("est-2"), runtime.config);
    const now = new Date(AT);
    const exact = await previewCampaign(runtime.repo, c, runtime.config, now, runtime.secret);
    const est = await estimateCampaign(runtime.repo, c, runtime.config, now, runtime.secret, {
      sampleSize: 100_000,
    });
    expect(est.method).toBe("exact");
    const z = (n: number) => ({ estimate: n, low: n, high: n });
    expect(est.audience).toEqual(z(exact.audience));
    expect(est.eligible).toEqual(z(exact.eligible));
    expect(est.holdout).toEqual(z(exact.holdout));
    for (const [tier, t] of Object.entries(exact.byTier))
      expect(est.byTier[tier]!.audience).toEqual(z(t.audience));
    for (const [reason, n] of Object.entries(exact.excluded)) expect(est.excluded[reason]).toEqual(z(n));
  });

  it("answers the estimate through the API, for a body and for a saved campaign", async () => {
    const body = await api("POST", "/api/estimate", tokens.mia, campaign("est-api"));
    expect(body.status).toBe(200);
    expect(body.json).toMatchObject({ estimate: true, campaignId: "est-api", confidence: 0.95 });
    expect((await api("POST", "/api/estimate", tokens.mia, { campaignId: "x" })).status).toBe(400);
    expect((await api("POST", "/api/campaigns", tokens.mia, campaign("est-saved"))).status).toBe(201);
    const saved = await api("GET", "/api/campaigns/est-saved/estimate", tokens.ann);
    expect(saved.status).toBe(200);
    expect((await api("GET", "/api/campaigns/no-such/estimate", tokens.ann)).status).toBe(404);
  });

  it("runs the exact dry run as a job: progress, then the result, and the approval view reads it", async () => {
    expect((await api("POST", "/api/campaigns", tokens.mia, campaign("dry-1"))).status).toBe(201);
    const missing = await api("GET", "/api/campaigns/dry-1/dry-run", tokens.ari);
    expect(missing.json).toMatchObject({ state: "missing", dryRun: null, currentVersion: 1 });

    expect((await api("POST", "/api/campaigns/dry-1/dry-runs", tokens.ann, {})).status).toBe(403);
    const started = await api("POST", "/api/campaigns/dry-1/dry-runs", tokens.ari, {});
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ campaignId: "dry-1", version: 1 });
    const done = (await waitDone(started.json.jobId as string)) as {
      status: string;
      progress: Record<string, number>;
      result: PreviewResult;
    };
    expect(done.status).toBe("done");
    expect(done.progress.tasksDone).toBe(3 * 16);
    expect(done.progress.tasksTotal).toBe(3 * 16);
    expect(done.progress.percent).toBe(100);
    expect(done.progress.pagesDone).toBeGreaterThanOrEqual(3 * 16);
    const exact = await previewCampaign(
      runtime.repo,
      parseCampaign(campaign("dry-1"), runtime.config),
      runtime.config,
      new Date(started.json.at as string),
      runtime.secret,
    );
    expect(done.progress.recipientsDecided).toBe(exact.audience);
    expect(done.result.audience).toBe(exact.audience);
    expect(done.result.eligible).toBe(exact.eligible);
    expect(done.result.byTier).toEqual(exact.byTier);

    const current = await api("GET", "/api/campaigns/dry-1/dry-run", tokens.ari);
    expect(current.json).toMatchObject({ state: "current", currentVersion: 1 });
    expect((current.json.dryRun as { jobId: string }).jobId).toBe(started.json.jobId);

    // An edit makes a new version: the dry run on record is of an older one.
    const edited = { ...campaign("dry-1"), holdoutPercent: 20 };
    expect((await api("PUT", "/api/campaigns/dry-1", tokens.mia, edited)).status).toBe(200);
    const older = await api("GET", "/api/campaigns/dry-1/dry-run", tokens.ari);
    expect(older.json).toMatchObject({ state: "older_version", currentVersion: 2 });
    expect((older.json.dryRun as { version: number }).version).toBe(1);

    // The builder's exact count of the body as it now stands counts for the version once saved.
    const fromBody = await api("POST", "/api/dry-runs", tokens.mia, edited);
    expect(fromBody.status).toBe(202);
    expect(fromBody.json.version).toBeNull();
    await waitDone(fromBody.json.jobId as string);
    const again = await api("GET", "/api/campaigns/dry-1/dry-run", tokens.ari);
    expect(again.json).toMatchObject({ state: "current", currentVersion: 2 });
    expect((again.json.dryRun as { jobId: string }).jobId).toBe(fromBody.json.jobId);

    expect((await api("GET", "/api/dry-runs/no-such", tokens.ari)).status).toBe(404);
    expect((await api("POST", "/api/dry-runs", tokens.mia, { campaignId: "x" })).status).toBe(400);
  });

  it("a submit starts the submitted version's dry run, so the approver finds it", async () => {
    expect((await api("POST", "/api/campaigns", tokens.mia, campaign("dry-sub"))).status).toBe(201);
    expect((await api("POST", "/api/campaigns/dry-sub/submit", tokens.mia, {})).status).toBe(200);
    const view = await api("GET", "/api/campaigns/dry-sub/dry-run", tokens.ari);
    expect(view.json).toMatchObject({ state: "current", currentVersion: 1 });
    const job = view.json.dryRun as { jobId: string; version: number };
    expect(job.version).toBe(1);
    expect((await waitDone(job.jobId)).status).toBe("done");
    const trail = await api("GET", "/api/campaigns/dry-sub/audit", tokens.ari);
    expect(JSON.stringify(trail.json)).toContain(job.jobId);
  });

  it("a run claims the job: a second run of a finished job changes nothing, two at once: one stops", async () => {
    const c = parseCampaign(campaign("dry-claim"), runtime.config);
    const job = await createDryRun(runtime.repo, { campaign: c, createdBy: "mia", now: new Date(AT) });
    const deps = {
      repo: runtime.repo,
      config: runtime.config,
      secret: runtime.secret,
      now: () => new Date(AT),
    };
    const seen: number[] = [];
    const done = await runDryRun(deps, job.jobId, {
      checkpointMs: 0,
      onProgress: (j) => seen.push(j.tasksDone),
    });
    expect(done.status).toBe("done");
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBe(3 * 16);
    const stored = await loadDryRun(runtime.repo, job.jobId);
    expect(stored).toMatchObject({ status: "done", run: 1, tasksDone: 48, tasksTotal: 48 });
    expect((await runDryRun(deps, job.jobId)).run).toBe(1);

    // Two runs at once (a duplicate delivery): one holds the job, the other stops; the job ends done once.
    const twice = await createDryRun(runtime.repo, { campaign: c, createdBy: "mia", now: new Date(AT) });
    const outcomes = await Promise.allSettled([runDryRun(deps, twice.jobId), runDryRun(deps, twice.jobId)]);
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(DryRunTakenOverError);
    expect(await loadDryRun(runtime.repo, twice.jobId)).toMatchObject({ status: "done", tasksDone: 48 });
  });
});
