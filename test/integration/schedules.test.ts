import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let server: LocalServer;
const tokens: Record<string, string> = {};

const call = apiCaller(() => server.url);

async function approved(campaignId: string) {
  expect((await call("POST", "/api/campaigns", tokens.mia!, dormantCampaign({ campaignId }))).status).toBe(
    201,
  );
  await call("POST", `/api/campaigns/${campaignId}/submit`, tokens.mia!, {});
  expect((await call("POST", `/api/campaigns/${campaignId}/approve`, tokens.ari!, {})).status).toBe(200);
}

describe("schedules: one run per schedule and firing", () => {
  beforeAll(async () => {
    runtime = await localBank(300, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    for (const u of [
      { userId: "ada", role: "admin" },
      { userId: "mia", role: "marketer" },
      { userId: "ari", role: "approver" },
    ] as const)
      tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("gives two schedules of one campaign (with an id of the maximum length) separate runs", async () => {
    const id = `long-${"x".repeat(59)}`;
    expect(id).toHaveLength(64);
    await approved(id);
    const schedules = { early: "0 10 1 * *", late: "5 10 1 * *", twin: "5 10 1 * *" };
    for (const [scheduleId, cron] of Object.entries(schedules))
      expect(
        (await call("PUT", `/api/schedules/${scheduleId}`, tokens.mia!, { campaignId: id, cron })).status,
      ).toBe(200);
    setClock(runtime, "2027-04-01T02:06:00.000Z");
    const due = await call("POST", "/api/schedules/run-due", tokens.ada!, {});
    await Promise.all([...server.running]);
    setClock(runtime, AT);
    const runs = due.json.runs as { scheduleId: string; campaignId: string }[];
    expect(runs.map((r) => r.scheduleId).sort()).toEqual(["early", "late", "twin"]);
    const ids = runs.map((r) => r.campaignId);
    expect(new Set(ids).size).toBe(3);
    for (const run of runs) {
      expect(run.campaignId).not.toBe(id);
      expect(run.campaignId.length).toBeLessThanOrEqual(64);
      const copy = await call("GET", `/api/campaigns/${run.campaignId}`, tokens.ada!);
      expect(copy.status, run.campaignId).toBe(200);
      expect(copy.json).toMatchObject({ createdBy: `schedule:${run.scheduleId}`, status: "launched" });
    }
    const trail = await call("GET", `/api/campaigns/${runs[0]!.campaignId}/audit`, tokens.ada!);
    expect(trail.json).toMatchObject({ intact: true });
    expect((trail.json.entries as { action: string }[]).map((e) => e.action)).toEqual(["create", "launched"]);
    // The template itself was never launched by its schedules.
    expect((await call("GET", `/api/campaigns/${id}`, tokens.ada!)).json.status).toBe("approved");
  }, 120_000);
});
