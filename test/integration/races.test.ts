import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import { loadCampaign } from "#functions/campaign/record.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

/**
 * Races a hostile (or merely unlucky) user can start through the API. Each asserts the promise, not
 * the interleaving: whichever request wins, nothing unapproved reaches a customer.
 */
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;
let server: LocalServer;
let dispatch: DispatchServices;
const tokens: Record<string, string> = {};

const call = apiCaller(() => server.url);

const withText = (campaignId: string, text: string) =>
  dormantCampaign({
    campaignId,
    variants: [
      { id: "A", tiers: ["potential", "quality"], channel: "sms", template: `{{name|客户}}您好，${text}` },
    ],
  });

describe("races through the API", () => {
  beforeAll(async () => {
    runtime = await localBank(800, new Date("2027-02-28T00:00:00Z"), {
      // Every race campaign reaches the same customers on one day: caps must not hide a send.
      caps: { perChannelPerDay: 1_000, perRollingWindow: 1_000 },
    });
    setClock(runtime, AT);
    dispatch = await startDispatch(runtime);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    const users: NewUser[] = [
      { userId: "ada", role: "admin" },
      { userId: "mia", role: "marketer" },
      { userId: "ari", role: "approver" },
    ];
    for (const u of users) tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("never sends an edit that raced an approved launch: the launch renders the approved version", {
    timeout: 240_000,
  }, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `race-edit-${i}`;
      expect((await call("POST", "/api/campaigns", tokens.mia!, withText(id, "APPROVED"))).status).toBe(201);
      expect((await call("POST", `/api/campaigns/${id}/submit`, tokens.mia!)).status).toBe(200);
      expect((await call("POST", `/api/campaigns/${id}/approve`, tokens.ari!)).status).toBe(200);
      // Start offsets from the edit 6 ms ahead to the launch 5 ms ahead, so the interleavings vary.
      const later = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
      const [launch, edited] = await Promise.all([
        later(6 - i).then(() => call("POST", `/api/campaigns/${id}/launch`, tokens.mia!)),
        later(i - 6).then(() => call("PUT", `/api/campaigns/${id}`, tokens.mia!, withText(id, "UNAPPROVED"))),
      ]);
      await Promise.all([...server.running]);
      outcomes.push(`${launch.status}/${edited.status}`);
      // The loser of the race is told so (409), never an internal error.
      expect([200, 409], outcomes.at(-1)).toContain(edited.status);
      const record = await loadCampaign(runtime.repo, id);
      if (launch.status === 200) {
        // Whatever the edit did, what went out is the approved text.
        const sent = dispatch.sms.messages.filter((m) => m.tag.startsWith(`${id}#`));
        expect(sent.length, `${id}: ${outcomes.at(-1)}`).toBeGreaterThan(0);
        expect(
          sent.filter((m) => !m.text.includes("您好，APPROVED")).length,
          `${id}: ${outcomes.at(-1)}`,
        ).toBe(0);
      } else {
        expect(launch.status).toBe(409);
        expect(record.status).toBe("draft");
      }
    }
    const leaked = dispatch.sms.messages.filter((m) => m.text.includes("UNAPPROVED"));
    expect(leaked.length, `outcomes ${outcomes.join(" ")}`).toBe(0);
    expect(dispatch.sms.messages.filter((m) => m.text.includes("APPROVED")).length).toBeGreaterThan(0);
  });

  it("refuses an approval from anyone who edited the version under approval, an admin included", async () => {
    const id = "admin-edits-then-approves";
    expect((await call("POST", "/api/campaigns", tokens.mia!, withText(id, "v1"))).status).toBe(201);
    expect((await call("PUT", `/api/campaigns/${id}`, tokens.ada!, withText(id, "v2 by ada"))).status).toBe(
      200,
    );
    expect((await call("POST", `/api/campaigns/${id}/submit`, tokens.mia!)).status).toBe(200);
    const byEditor = await call("POST", `/api/campaigns/${id}/approve`, tokens.ada!);
    expect(byEditor.status).toBe(403);
    expect(byEditor.json.error).toBe("self_approval");
    expect((await call("POST", `/api/campaigns/${id}/approve`, tokens.ari!)).status).toBe(200);
  });
});
