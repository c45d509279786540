import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { readAudit } from "#functions/audit/store.ts";
import { ingestRecords } from "#functions/events/core.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

const AT = "2027-03-02T02:00:00.000Z";
const DRIVE = "referral-2027-spring";
let runtime: Runtime;
let server: LocalServer;
const tokens: Record<string, string> = {};
let referrers: LedgerRow[] = [];

const call = apiCaller(() => server.url);

describe("referral rewards: listed, exported and paid once", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    await startDispatch(runtime);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    for (const [userId, role] of [
      ["ada", "admin"],
      ["mia", "marketer"],
    ] as const)
      tokens[userId] = (await addUser(runtime.repo, { userId, role }, new Date(AT))).token;
    await launchCampaign(
      runtime,
      readCampaignFile("examples/referral-drive.json", runtime.config),
      new Date(AT),
    );
    referrers = (await ledgerRows(runtime, DRIVE)).filter((r) => r.decision === "sent").slice(0, 2);
    // Two referees open accounts with the codes, then fund them in a later file (events-order.test.ts
    // covers the opening and the deposit in one file).
    const ingest = async (events: Record<string, unknown>[]) => {
      const report = await ingestRecords(
        events.map((value, i) => ({ line: i + 1, value })),
        { repo: runtime.repo, shards: runtime.config.shards },
      );
      expect(report.accepted).toBe(events.length);
    };
    await ingest(
      referrers.map((r, i) => ({
        eventId: `open-${i}`,
        type: "account_opened",
        customerId: `NEW-${i}`,
        at: "2027-03-03T02:00:00Z",
        referralCode: r.referralCode,
      })),
    );
    await ingest(
      referrers.map((_r, i) => ({
        eventId: `dep-${i}`,
        type: "deposit",
        customerId: `NEW-${i}`,
        at: "2027-03-04T02:00:00Z",
        amount: 10_000,
      })),
    );
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("lists the due rewards and exports them as CSV for the settlement", async () => {
    const list = await call("GET", "/api/rewards?status=due", tokens.mia!);
    expect(list.status).toBe(200);
    const rewards = list.json.rewards as { referrerId: string; refereeId: string; status: string }[];
    expect(rewards.map((r) => r.referrerId).sort()).toEqual(referrers.map((r) => r.customerId).sort());
    expect(rewards.every((r) => r.status === "due")).toBe(true);
    const csv = await call("GET", `/api/rewards?campaign=${DRIVE}&format=csv`, tokens.mia!);
    expect(csv.type).toContain("text/csv");
    const lines = csv.text.trim().split(/\r?\n/);
    expect(lines[0]).toBe("campaignId,referrerId,refereeId,reward,at,status,paidAt,reference");
    expect(lines).toHaveLength(3);
  });

  it("marks a reward paid once, with the settlement reference in the audit trail", async () => {
    const referrer = referrers[0]!.customerId;
    const path = `/api/rewards/${DRIVE}/${referrer}/pay`;
    expect((await call("POST", path, tokens.mia!, { reference: "S-1" })).status).toBe(403);
    const paid = await call("POST", path, tokens.ada!, { reference: "S-1" });
    expect(paid).toMatchObject({ status: 200, json: { status: "paid", reference: "S-1", paidBy: "ada" } });
    expect((await call("POST", path, tokens.ada!, { reference: "S-1" })).status).toBe(200);
    expect(await call("POST", path, tokens.ada!, { reference: "S-2" })).toMatchObject({
      status: 409,
      json: { error: "reward_paid" },
    });
    expect((await call("POST", `/api/rewards/${DRIVE}/nobody/pay`, tokens.ada!, {})).status).toBe(404);
    const trail = await readAudit(
      { repo: runtime.repo, secret: runtime.secret },
      "reward",
      `${DRIVE}.${referrer}`,
    );
    expect(trail.entries.map((e) => [e.action, e.after])).toEqual([
      ["pay", { status: "paid", reference: "S-1" }],
    ]);
    const due = (await call("GET", "/api/rewards?status=due", tokens.mia!)).json.rewards as unknown[];
    expect(due).toHaveLength(1);
  });
});
