import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import type { AnyRoute } from "#functions/api/http.ts";
import { API_ROUTES } from "#functions/api/router.ts";
import { forceCampaignStatus } from "#functions/campaign/record.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { recordReward } from "#functions/referrals/rewards.ts";
import { createTask, taskIdOf } from "#functions/tasks/store.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

/**
 * Every write route of the router, tried by a user of branch BR002 against what belongs to head office
 * and to branch BR001: each must be refused (403 other_branch, or 404), and the store must not change
 * at all (not even an audit entry). A write route added without a case here fails the first test.
 */

const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let server: LocalServer;
const tokens: Record<string, string> = {};

type Owner = "ho" | "br1";
const OWNERS: Owner[] = ["ho", "br1"];
// The branch users who try; each route is tried by the first whose role the route allows.
const INTRUDERS = ["bm", "ba", "bx"] as const;

const call = apiCaller(() => server.url);

/** The whole table, sorted: a refused request must leave every item as it was. */
async function snapshot(): Promise<string> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await runtime.repo.ddb.send(
      new ScanCommand({ TableName: runtime.repo.table, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

const campaignOf = (owner: Owner, name: string) => `${owner}-${name}`;

interface Attempt {
  path: string;
  body?: unknown;
  /** Import answers 200 and reports the refused rows by line; everything else is refused outright. */
  refusedInBody?: (json: Record<string, unknown>) => void;
  /** A route that only ever creates the actor's own record: it must be their branch's. */
  ownRecord?: (json: Record<string, unknown>) => Promise<void>;
}

const jobIds: Record<Owner, string> = { ho: "", br1: "" };

const CASES: Record<string, (owner: Owner) => Attempt> = {
  "POST /api/campaigns": (owner) => ({
    path: "/api/campaigns",
    body: dormantCampaign({ campaignId: campaignOf(owner, "draft"), name: "taken over" }),
  }),
  "PUT /api/campaigns/{campaignId}": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "draft")}`,
    body: dormantCampaign({ campaignId: campaignOf(owner, "draft"), name: "taken over" }),
  }),
  "POST /api/preview": (owner) => ({
    path: "/api/preview",
    body: dormantCampaign({
      campaignId: "peek",
      segment: {
        scheme: "retail",
        tiers: ["potential", "quality"],
        branches: [owner === "ho" ? "HO" : "BR001"],
      },
    }),
  }),
  "POST /api/estimate": (owner) => ({
    path: "/api/estimate",
    body: dormantCampaign({
      campaignId: "peek",
      segment: {
        scheme: "retail",
        tiers: ["potential", "quality"],
        branches: [owner === "ho" ? "HO" : "BR001"],
      },
    }),
  }),
  "POST /api/dry-runs": (owner) => ({
    path: "/api/dry-runs",
    body: dormantCampaign({
      campaignId: "peek",
      segment: {
        scheme: "retail",
        tiers: ["potential", "quality"],
        branches: [owner === "ho" ? "HO" : "BR001"],
      },
    }),
  }),
  "POST /api/campaigns/{campaignId}/dry-runs": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "submitted")}/dry-runs`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/submit": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "draft")}/submit`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/approve": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "submitted")}/approve`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/reject": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "submitted")}/reject`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/launch": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "approved")}/launch`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/pause": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "launched")}/pause`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/resume": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "paused")}/resume`,
    body: {},
  }),
  "POST /api/campaigns/{campaignId}/cancel": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "draft")}/cancel`,
    body: {},
  }),
  "PUT /api/campaigns/{campaignId}/targets": (owner) => ({
    path: `/api/campaigns/${campaignOf(owner, "draft")}/targets`,
    body: { period: "2027Q1", stage: "sent", value: 1 },
  }),
  "POST /api/customers/import": (owner) => ({
    path: "/api/customers/import",
    // The intruder's own branch on the row, over a customer who belongs elsewhere: moving them is a write on them.
    body: JSON.stringify({ customerId: owner === "ho" ? "HO-1" : "BR1-1", branchId: "BR002", aum: 5 }),
    refusedInBody: (json) => expect(json).toMatchObject({ imported: 0, rejected: [{ line: 1 }] }),
  }),
  "POST /api/events": (owner) => ({
    path: "/api/events",
    body: JSON.stringify({
      eventId: `intruder-${owner}`,
      type: "opted_out",
      customerId: owner === "ho" ? "HO-1" : "BR1-1",
      at: AT,
    }),
  }),
  "POST /api/users": (owner) => ({
    path: "/api/users",
    body: { userId: owner === "ho" ? "ada" : "b1", role: "admin", branchId: "BR002" },
  }),
  "PUT /api/schedules/{scheduleId}": (owner) => ({
    path: `/api/schedules/${owner}-monthly`,
    // Pointed at the intruder's own campaign: the schedule it replaces is still someone else's.
    body: { campaignId: "br2-own", cron: "0 9 * * *" },
  }),
  "DELETE /api/schedules/{scheduleId}": (owner) => ({ path: `/api/schedules/${owner}-monthly` }),
  "POST /api/schedules/run-due": () => ({ path: "/api/schedules/run-due", body: {} }),
  "POST /api/imports": () => ({
    path: "/api/imports",
    body: { format: "jsonl" },
    ownRecord: async (json) => {
      const job = await runtime.repo.get<{ branchId?: string }>({ PK: `IMPORT#${json.jobId}`, SK: "JOB" });
      expect(job?.branchId).toBe("BR002");
    },
  }),
  "POST /api/imports/{jobId}/start": (owner) => ({ path: `/api/imports/${jobIds[owner]}/start`, body: {} }),
  "POST /api/tasks/{taskId}/complete": (owner) => ({
    path: `/api/tasks/${taskOf(owner)}/complete`,
    body: { outcome: "reached" },
  }),
  // To an RM of the intruder's own branch: taking the task over is a write on it.
  "POST /api/tasks/{taskId}/reassign": (owner) => ({
    path: `/api/tasks/${taskOf(owner)}/reassign`,
    body: { to: "br2-rm" },
  }),
  "POST /api/rms/{rmId}/handover": (owner) => ({
    path: `/api/rms/${owner === "ho" ? "RM-HO" : "RM-B1"}/handover`,
    body: { to: "br2-rm" },
  }),
  "POST /api/rewards/{campaignId}/{referrerId}/pay": (owner) => ({
    path: `/api/rewards/${campaignOf(owner, "launched")}/${owner === "ho" ? "HO-1" : "BR1-1"}/pay`,
    body: { reference: "intruder" },
  }),
  // The bank's indicator is head office's alone.
  "PUT /api/indicators/{period}/{stage}": () => ({
    path: "/api/indicators/2027Q1/converted",
    body: { value: 100 },
  }),
  // A branch's share re-split among RMs: only the branch's own manager (or head office).
  "PUT /api/indicators/{period}/{stage}/branches/{branchId}": (owner) => ({
    path: `/api/indicators/2027Q1/converted/branches/${owner === "ho" ? "HQ" : "BR001"}`,
    body: { rms: [{ rmId: "br2-rm", quarter: 1 }] },
  }),
  // A branch's run of the book rules claims the other owner's customer: refused by line, nothing assigned.
  "POST /api/books/assign": (owner) => ({
    path: "/api/books/assign",
    body: { claims: [{ customerId: owner === "ho" ? "HO-1" : "BR1-1", rmId: "br2-rm" }] },
    refusedInBody: (json) =>
      expect(json).toMatchObject({ written: 0, assignments: [], rejected: [{ line: 1 }] }),
  }),
};

const taskOf = (owner: Owner) => taskIdOf(campaignOf(owner, "launched"), owner === "ho" ? "HO-1" : "BR1-1");

const routeKey = (r: AnyRoute) => `${r.method} ${r.path}`;
const writeRoutes = API_ROUTES.filter((r) => r.method !== "GET" && r.roles !== "public");

describe("branch scope on every write route", () => {
  beforeAll(async () => {
    runtime = await localBank(300, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    const users: NewUser[] = [
      { userId: "ada", role: "admin" },
      { userId: "mia", role: "marketer" },
      { userId: "ari", role: "approver" },
      { userId: "b1", role: "marketer", branchId: "BR001" },
      { userId: "b1a", role: "approver", branchId: "BR001" },
      { userId: "bm", role: "marketer", branchId: "BR002" },
      { userId: "ba", role: "approver", branchId: "BR002" },
      { userId: "bx", role: "admin", branchId: "BR002" },
      { userId: "br2-rm", role: "rm", branchId: "BR002" },
    ];
    for (const u of users) tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
    const customers = [
      { customerId: "HO-1", aum: 20_000, phone: "13800000011" },
      { customerId: "BR1-1", branchId: "BR001", aum: 20_000, phone: "13800000012" },
    ];
    const imported = await call(
      "POST",
      "/api/customers/import",
      tokens.ada!,
      customers.map((c) => JSON.stringify(c)).join("\n"),
    );
    expect(imported.json).toMatchObject({ imported: 2 });
    // Each owner's campaigns, in the state where the action would otherwise succeed.
    for (const owner of OWNERS) {
      const [maker, checker] = owner === "ho" ? ["mia", "ari"] : ["b1", "b1a"];
      const create = (name: string) =>
        call(
          "POST",
          "/api/campaigns",
          tokens[maker]!,
          dormantCampaign({ campaignId: campaignOf(owner, name) }),
        );
      for (const name of ["draft", "submitted", "approved", "launched", "paused"]) {
        expect((await create(name)).status).toBe(201);
        if (name === "draft") continue;
        await call("POST", `/api/campaigns/${campaignOf(owner, name)}/submit`, tokens[maker]!, {});
        if (name === "submitted") continue;
        await call("POST", `/api/campaigns/${campaignOf(owner, name)}/approve`, tokens[checker]!, {});
      }
      // Launched and paused without running a workflow: only the status matters to these routes.
      await forceCampaignStatus(runtime.repo, campaignOf(owner, "launched"), "launched");
      await forceCampaignStatus(runtime.repo, campaignOf(owner, "paused"), "paused");
      const schedule = await call("PUT", `/api/schedules/${owner}-monthly`, tokens[maker]!, {
        campaignId: campaignOf(owner, "approved"),
        cron: "0 10 1 * *",
      });
      expect(schedule.status).toBe(200);
    }
    expect(
      (await call("POST", "/api/campaigns", tokens.bm!, dormantCampaign({ campaignId: "br2-own" }))).status,
    ).toBe(201);
    // A due referral reward of each owner's drive.
    for (const owner of OWNERS)
      await recordReward(runtime.repo, {
        campaignId: campaignOf(owner, "launched"),
        referrerId: owner === "ho" ? "HO-1" : "BR1-1",
        refereeId: "REF-1",
        reward: "gift",
        at: AT,
      });
    // An open RM task of each owner (what the rm-task worker writes for a launched campaign).
    for (const owner of OWNERS)
      await createTask(
        runtime.repo,
        {
          taskId: taskOf(owner),
          rmId: owner === "ho" ? "RM-HO" : "RM-B1",
          customerId: owner === "ho" ? "HO-1" : "BR1-1",
          campaignId: campaignOf(owner, "launched"),
          ...(owner === "ho" ? {} : { branchId: "BR001" }),
          status: "open",
          dueAt: "2027-03-01T15:59:59.999Z",
          priority: "normal",
          context: { tier: "potential" },
          attempts: 0,
          createdAt: AT,
        },
        runtime.config.shards,
      );
    for (const owner of OWNERS) {
      const job = await call("POST", "/api/imports", tokens[owner === "ho" ? "mia" : "b1"]!, {});
      expect(job.status).toBe(201);
      jobIds[owner] = String(job.json.jobId);
    }
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("has a case for every write route of the router", () => {
    expect(Object.keys(CASES).sort()).toEqual(writeRoutes.map(routeKey).sort());
  });

  for (const owner of OWNERS)
    it(`refuses a BR002 user every write on ${owner === "ho" ? "head office's" : "branch BR001's"} records, changing nothing`, async () => {
      const failures: string[] = [];
      for (const route of writeRoutes) {
        const intruder = INTRUDERS.find((u) =>
          (route.roles as readonly string[]).includes(
            u === "bm" ? "marketer" : u === "ba" ? "approver" : "admin",
          ),
        )!;
        const attempt = CASES[routeKey(route)]!(owner);
        const before = await snapshot();
        const res = await call(route.method, attempt.path, tokens[intruder]!, attempt.body);
        const after = await snapshot();
        const name = `${routeKey(route)} as ${intruder}`;
        if (attempt.ownRecord) {
          if (res.status !== 201) failures.push(`${name}: ${res.status} ${JSON.stringify(res.json)}`);
          else await attempt.ownRecord(res.json);
          continue;
        }
        if (attempt.refusedInBody) {
          if (res.status !== 200) failures.push(`${name}: ${res.status} ${JSON.stringify(res.json)}`);
          else
            try {
              attempt.refusedInBody(res.json);
            } catch {
              failures.push(`${name}: not refused: ${JSON.stringify(res.json)}`);
            }
        } else if (!(res.status === 404 || (res.status === 403 && res.json.error === "other_branch")))
          failures.push(`${name}: ${res.status} ${JSON.stringify(res.json)}`);
        // An import that refuses every row still records that it ran: only the audit may differ.
        if (attempt.refusedInBody) {
          const strip = (s: string) => (JSON.parse(s) as string[]).filter((i) => !i.includes('"AUDIT#'));
          if (JSON.stringify(strip(before)) !== JSON.stringify(strip(after)))
            failures.push(`${name}: changed the store`);
        } else if (before !== after) failures.push(`${name}: changed the store`);
      }
      expect(failures).toEqual([]);
    });

  it("keeps a branch's import job off another branch's customer, however the row is labelled", async () => {
    const before = await getCustomer(runtime.repo, "BR1-1");
    const job = await call("POST", "/api/imports", tokens.bm!, { format: "jsonl" });
    const rows = [
      { customerId: "BR1-1", branchId: "BR002", aum: 5 },
      { customerId: "BR2-NEW", branchId: "BR002", aum: 5 },
    ];
    const put = await fetch(String(job.json.uploadUrl), {
      method: "PUT",
      body: rows.map((r) => JSON.stringify(r)).join("\n"),
    });
    expect(put.status).toBe(200);
    expect((await call("POST", `/api/imports/${job.json.jobId}/start`, tokens.bm!, {})).status).toBe(202);
    await Promise.all([...server.running]);
    const progress = await call("GET", `/api/imports/${job.json.jobId}`, tokens.bm!);
    expect(progress.json).toMatchObject({ imported: 1, rejected: 1 });
    expect(await getCustomer(runtime.repo, "BR1-1")).toEqual(before);
  });
});
