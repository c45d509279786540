import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import { API_ROUTES } from "#functions/api/router.ts";
import { messagePointerKey } from "#functions/dispatch/core.ts";
import { receiptTag } from "#functions/dispatch/providers.ts";
import { ingestReceipt, webhookSignature } from "#functions/receipts/core.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;
let server: LocalServer;
let dispatch: DispatchServices;
const tokens: Record<string, string> = {};

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, json, text, headers: res.headers };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const linked = (campaignId: string) =>
  dormantCampaign({
    campaignId,
    variants: [
      {
        id: "A",
        tiers: ["potential", "quality"],
        channel: "sms",
        template: "{{name|客户}}您好，点此领取 {{link}}",
        url: "https://bank.example/welcome-back",
      },
    ],
  });

describe("HTTP API: auth, roles, maker-checker, branches, audit, tracking, schedules", () => {
  beforeAll(async () => {
    runtime = await localBank(2_000, new Date("2027-02-28T00:00:00Z"), {
      tracking: { baseUrl: "http://127.0.0.1" },
    });
    setClock(runtime, AT);
    dispatch = await startDispatch(runtime);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    const users: NewUser[] = [
      { userId: "ada", role: "admin" },
      { userId: "mia", role: "marketer" },
      { userId: "ari", role: "approver" },
      { userId: "ann", role: "analyst" },
      { userId: "bob", role: "marketer", branchId: "BR001" },
    ];
    for (const u of users) tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("answers 401 on every non-public route without a token or with a bad one", async () => {
    const guarded = API_ROUTES.filter((r) => r.roles !== "public");
    expect(guarded.length).toBeGreaterThan(20);
    for (const r of guarded) {
      const path = r.path.replace(/\{\w+\}/g, "x");
      for (const token of [undefined, "tc_forgedforgedforgedforgedforgedforged", "not-a-token"]) {
        const res = await call(r.method, path, token, r.body ? "{}" : undefined);
        expect(res.status, `${r.method} ${r.path} with ${token ?? "no token"}`).toBe(401);
        expect(res.json.error).toBe("unauthorized");
      }
    }
  });

  it("publishes an OpenAPI document listing every route", async () => {
    const res = await call("GET", "/api/openapi.json");
    expect(res.status).toBe(200);
    const paths = res.json.paths as Record<string, Record<string, unknown>>;
    for (const r of API_ROUTES) expect(paths[r.path]?.[r.method.toLowerCase()], r.path).toBeDefined();
  });

  it("refuses a role that may not act (403) and an invalid campaign with every problem", async () => {
    const byAnalyst = await call(
      "POST",
      "/api/campaigns",
      tokens.ann,
      dormantCampaign({ campaignId: "nope" }),
    );
    expect(byAnalyst.status).toBe(403);
    const invalid = await call("POST", "/api/campaigns", tokens.mia, {
      campaignId: "bad",
      playbook: "x",
      variants: [],
    });
    expect(invalid.status).toBe(400);
    expect((invalid.json.problems as string[]).length).toBeGreaterThanOrEqual(2);
  });

  it("runs maker-checker from draft to funnel, bound to the approved version, with an intact audit trail", async () => {
    const id = "api-journey";
    expect((await call("POST", "/api/campaigns", tokens.mia, linked(id))).status).toBe(201);
    expect((await call("POST", `/api/campaigns/${id}/launch`, tokens.mia, {})).json.error).toBe(
      "invalid_transition",
    );
    expect((await call("POST", `/api/campaigns/${id}/submit`, tokens.mia, {})).status).toBe(200);
    expect((await call("POST", `/api/campaigns/${id}/approve`, tokens.ari, { note: "ok" })).json.status).toBe(
      "approved",
    );
    // An edit after approval is a new version: the approval no longer covers it.
    const edited = await call("PUT", `/api/campaigns/${id}`, tokens.mia, { ...linked(id), name: "edited" });
    expect(edited.json).toMatchObject({ status: "draft", version: 2 });
    expect((await call("POST", `/api/campaigns/${id}/submit`, tokens.mia, {})).status).toBe(200);
    const early = await call("POST", `/api/campaigns/${id}/launch`, tokens.mia, {});
    expect(early.status).toBe(409);
    expect((await call("POST", `/api/campaigns/${id}/approve`, tokens.ari, {})).status).toBe(200);
    const launched = await call("POST", `/api/campaigns/${id}/launch`, tokens.mia, {});
    expect(launched.status).toBe(200);
    await Promise.all([...server.running]);

    const funnel = await call("GET", `/api/campaigns/${id}/funnel`, tokens.ann);
    expect(funnel.status).toBe(200);
    const total = funnel.json.total as Record<string, number>;
    expect(total.sent).toBeGreaterThan(0);
    expect(total.sent).toBe(dispatch.sms.messages.filter((m) => m.tag.startsWith(`${id}#`)).length);

    const audit = await call("GET", `/api/campaigns/${id}/audit`, tokens.ann);
    const entries = audit.json.entries as { action: string; actor: { userId: string }; before?: unknown }[];
    expect(entries.map((e) => e.action)).toEqual([
      "create",
      "submit",
      "approve",
      "edit",
      "submit",
      "approve",
      "launch",
      "launched",
    ]);
    expect(entries.map((e) => e.actor.userId)).toEqual([
      "mia",
      "mia",
      "ari",
      "mia",
      "mia",
      "ari",
      "mia",
      "launch-workflow",
    ]);
    expect(entries.at(-1)).toMatchObject({ before: { status: "launching" }, after: { status: "launched" } });
    expect(audit.json.intact).toBe(true);
  }, 120_000);

  it("forbids approving your own campaign (403 self_approval), even for an admin", async () => {
    const id = "api-self";
    await call("POST", "/api/campaigns", tokens.ada, dormantCampaign({ campaignId: id }));
    await call("POST", `/api/campaigns/${id}/submit`, tokens.ada, {});
    const res = await call("POST", `/api/campaigns/${id}/approve`, tokens.ada, {});
    expect(res.status).toBe(403);
    expect(res.json.error).toBe("self_approval");
  });

  it("confines a branch user to their branch's campaigns and customers (403 other_branch)", async () => {
    expect((await call("GET", "/api/campaigns/api-journey", tokens.bob)).json.error).toBe("other_branch");
    const foreign = await call(
      "POST",
      "/api/campaigns",
      tokens.bob,
      dormantCampaign({
        campaignId: "bob-other",
        segment: { scheme: "retail", tiers: ["potential", "quality"], branches: ["BR002"] },
      }),
    );
    expect(foreign.status).toBe(403);
    const own = await call("POST", "/api/campaigns", tokens.bob, dormantCampaign({ campaignId: "bob-own" }));
    expect(own.status).toBe(201);
    const preview = await call("GET", "/api/campaigns/bob-own/preview", tokens.bob);
    const all = await call("GET", "/api/campaigns/bob-own/preview", tokens.ada);
    expect(preview.json.audience).toBe(all.json.audience);
    expect(preview.json.audience as number).toBeGreaterThan(0);
    const rows = [
      { customerId: "X-BR1", branchId: "BR001", aum: 100, phone: "13800000001" },
      { customerId: "X-BR2", branchId: "BR002", aum: 100, phone: "13800000002" },
    ];
    const jsonl = rows.map((r) => JSON.stringify(r)).join("\n");
    // A branch user's import keeps their branch's rows and reports the others by line.
    expect((await call("POST", "/api/customers/import", tokens.bob, jsonl)).json).toMatchObject({
      imported: 1,
      rejected: [{ line: 2 }],
    });
    expect((await call("POST", "/api/customers/import", tokens.ada, jsonl)).json).toMatchObject({
      imported: 2,
    });
    expect((await call("GET", "/api/customers/X-BR1/decisions", tokens.bob)).status).toBe(200);
    const other = await call("GET", "/api/customers/X-BR2/decisions", tokens.bob);
    expect(other.status).toBe(403);
    expect(other.json.error).toBe("other_branch");
    expect((await call("GET", "/api/uncontactable?branch=BR002", tokens.bob)).status).toBe(403);
    expect((await call("GET", "/api/campaigns", tokens.bob)).json.campaigns).toEqual([
      expect.objectContaining({ campaignId: "bob-own", branchId: "BR001" }),
    ]);
  });

  it("counts a signed click once and redirects to the landing page; a forged link counts nothing", async () => {
    const sms = dispatch.sms.messages.find((m) => m.tag.startsWith("api-journey#"))!;
    const link = /http:\/\/127\.0\.0\.1(\/t\/c\/\S+)/.exec(sms.text)![1]!;
    const before = (await call("GET", "/api/campaigns/api-journey/funnel", tokens.ann)).json.total as Record<
      string,
      number
    >;
    const forged = await call("GET", `${link.slice(0, -1)}${link.endsWith("A") ? "B" : "A"}`);
    expect(forged.status).toBe(404);
    const first = await call("GET", link);
    expect(first.status).toBe(302);
    expect(first.headers.get("location")).toBe("https://bank.example/welcome-back");
    await call("GET", link);
    const after = (await call("GET", "/api/campaigns/api-journey/funnel", tokens.ann)).json.total as Record<
      string,
      number
    >;
    expect(after.engaged).toBe(before.engaged! + 1);
  });

  it("ingests events over HTTP idempotently by eventId", async () => {
    const ledger = await call("GET", "/api/campaigns/api-journey/ledger?limit=1", tokens.ann);
    const customerId = (ledger.json.rows as { customerId: string }[])[0]!.customerId;
    const body = `${JSON.stringify({ eventId: "http-1", type: "replied", customerId, campaignId: "api-journey", at: AT })}\nnot json\n`;
    const first = await call("POST", "/api/events", tokens.ada, body);
    expect(first.json).toMatchObject({ accepted: 1, duplicates: 0, rejected: [{ line: 2 }] });
    const again = await call("POST", "/api/events", tokens.ada, body);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await call("POST", "/api/events", tokens.ann, body)).status).toBe(403);
  });

  it("refuses an invalid cron with every problem, and runs a due schedule exactly once", async () => {
    const bad = await call("PUT", "/api/schedules/monthly", tokens.mia, {
      campaignId: "api-journey",
      cron: "61 25 * * MON",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.problems).toEqual([expect.stringContaining("minute"), expect.stringContaining("hour")]);
    const ok = await call("PUT", "/api/schedules/monthly", tokens.mia, {
      campaignId: "api-journey",
      cron: "0 10 1 * *",
    });
    expect(ok.status).toBe(200);
    expect(ok.json.nextRunAt).toBe("2027-04-01T02:00:00.000Z");
    setClock(runtime, "2027-04-01T02:00:30.000Z");
    const run = await call("POST", "/api/schedules/run-due", tokens.ada, {});
    const again = await call("POST", "/api/schedules/run-due", tokens.ada, {});
    setClock(runtime, AT);
    expect(run.json.runs).toEqual([
      expect.objectContaining({
        scheduleId: "monthly",
        campaignId: expect.stringMatching(/^api-journey-202704011000-[0-9a-f]{10}$/),
      }),
    ]);
    expect(again.json.runs).toEqual([]);
    await Promise.all([...server.running]);
    const runId = (run.json.runs as { campaignId: string }[])[0]!.campaignId;
    const copy = await call("GET", `/api/campaigns/${runId}`, tokens.ann);
    expect(copy.json.status).toBe("launched");
  }, 120_000);

  it("takes SMS gateway receipts only with a valid signature; a reply of R opts the customer out", async () => {
    // The last recipient: no click or reply has moved their row yet.
    const sms = dispatch.sms.messages.findLast((m) => m.tag.startsWith("api-journey#"))!;
    const customerId = sms.tag.split("#")[1]!;
    const hook = (body: unknown, signature?: string) =>
      fetch(`${server.url}/hooks/sms`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(signature ? { "x-tiercast-signature": signature } : {}),
        },
        body: JSON.stringify(body),
      });
    const delivered = { type: "delivered", tag: sms.tag, messageId: "gw-1", at: AT };
    expect((await hook(delivered)).status).toBe(401);
    expect((await hook(delivered, webhookSignature(runtime.secret, "{}"))).status).toBe(401);
    const before = (await call("GET", "/api/campaigns/api-journey/funnel", tokens.ann)).json.total as Record<
      string,
      number
    >;
    const ok = await hook(delivered, webhookSignature(runtime.secret, JSON.stringify(delivered)));
    expect(ok.status).toBe(200);
    const after = (await call("GET", "/api/campaigns/api-journey/funnel", tokens.ann)).json.total as Record<
      string,
      number
    >;
    expect(after.delivered).toBe(before.delivered! + 1);

    const optedOut = async () =>
      (
        (await call("POST", "/api/preview", tokens.ada, linked("after-optout"))).json.excluded as Record<
          string,
          number
        >
      ).opted_out ?? 0;
    const optedBefore = await optedOut();
    const reply = { type: "replied", tag: sms.tag, messageId: "gw-2", at: AT, text: "R" };
    expect((await hook(reply, webhookSignature(runtime.secret, JSON.stringify(reply)))).status).toBe(200);
    expect(await optedOut()).toBe(optedBefore + 1);
    expect((await call("GET", `/api/customers/${customerId}/decisions`, tokens.ada)).status).toBe(200);
  });

  it("moves the funnel from End User Messaging receipts and two-way replies arriving through SNS/SQS", async () => {
    const sms = dispatch.sms.messages.filter((m) => m.tag.startsWith("api-journey#")).at(-2)!;
    const customerId = sms.tag.split("#")[1]!;
    const deps = {
      repo: runtime.repo,
      shards: runtime.config.shards,
      config: runtime.config,
      secret: runtime.secret,
    };
    const envelope = (message: unknown) =>
      JSON.stringify({ Type: "Notification", Message: JSON.stringify(message) });
    const delivered = {
      eventType: "TEXT_DELIVERED",
      messageId: "aws-msg-1",
      eventTimestamp: Date.parse(AT),
      context: { tiercast: receiptTag("api-journey", customerId) },
    };
    expect((await ingestReceipt(envelope(delivered), deps, AT))?.outcome).toMatchObject({
      status: "accepted",
      stage: "delivered",
    });
    expect((await ingestReceipt(envelope(delivered), deps, AT))?.outcome.status).toBe("duplicate");
    await runtime.repo.put({ ...messagePointerKey("aws-msg-1"), campaignId: "api-journey", customerId });
    const reply = {
      inboundMessageId: "in-1",
      messageBody: "好的，请联系我",
      previousPublishedMessageId: "aws-msg-1",
    };
    expect((await ingestReceipt(envelope(reply), deps, AT))?.outcome).toMatchObject({
      status: "accepted",
      stage: "responded",
    });
    const unknown = { inboundMessageId: "in-2", messageBody: "R", previousPublishedMessageId: "never-sent" };
    expect(await ingestReceipt(envelope(unknown), deps, AT)).toBeUndefined();
  });

  it("serves the open pixel for any token, counting only signed ones", async () => {
    const res = await fetch(`${server.url}/t/o/forged.token.gif`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(
      Buffer.from(await res.arrayBuffer())
        .subarray(0, 6)
        .toString(),
    ).toBe("GIF89a");
  });

  it("pauses and cancels a launched campaign: deferred sends wait while paused and are dropped when cancelled", async () => {
    const id = "api-pause";
    setClock(runtime, "2027-03-01T15:30:00.000Z"); // 23:30 local: everything is deferred to 08:00
    await call("POST", "/api/campaigns", tokens.mia, linked(id));
    await call("POST", `/api/campaigns/${id}/submit`, tokens.mia, {});
    await call("POST", `/api/campaigns/${id}/approve`, tokens.ari, {});
    await call("POST", `/api/campaigns/${id}/launch`, tokens.mia, {});
    await Promise.all([...server.running]);
    expect((await call("POST", `/api/campaigns/${id}/pause`, tokens.mia, {})).json.status).toBe("paused");
    const sentBefore = dispatch.sms.messages.filter((m) => m.tag.startsWith(`${id}#`)).length;
    setClock(runtime, "2027-03-02T01:00:00.000Z"); // 09:00 local: due, but paused
    await server.schedulerTick();
    await waitFor("paused sends to settle", async () => {
      const f = await call("GET", `/api/campaigns/${id}/ledger?limit=5000`, tokens.ann);
      const rows = f.json.rows as { decision: string; reason: string }[];
      return rows.every((r) => r.decision !== "queued" && r.decision !== "claimed") ? rows : undefined;
    });
    expect(dispatch.sms.messages.filter((m) => m.tag.startsWith(`${id}#`)).length).toBe(sentBefore);
    expect((await call("POST", `/api/campaigns/${id}/cancel`, tokens.mia, {})).json.status).toBe("cancelled");
    setClock(runtime, "2027-03-02T01:10:00.000Z"); // the pause re-check is due
    await server.schedulerTick();
    const rows = await waitFor("cancelled sends to be dropped", async () => {
      const f = await call("GET", `/api/campaigns/${id}/ledger?limit=5000`, tokens.ann);
      const r = f.json.rows as { decision: string; reason: string }[];
      return r.some((x) => x.reason === "campaign_cancelled") &&
        r.every((x) => x.decision !== "deferred" && x.decision !== "queued")
        ? r
        : undefined;
    });
    expect(rows.filter((r) => r.reason === "campaign_cancelled").length).toBeGreaterThan(0);
    expect(dispatch.sms.messages.filter((m) => m.tag.startsWith(`${id}#`)).length).toBe(sentBefore);
    setClock(runtime, AT);
  }, 120_000);

  it("detects an audit entry edited behind the API", async () => {
    await runtime.repo.ddb.send(
      new UpdateCommand({
        TableName: runtime.repo.table,
        Key: { PK: "AUDIT#campaign#api-self", SK: "0000000001" },
        UpdateExpression: "SET actor = :a",
        ExpressionAttributeValues: { ":a": { userId: "someone-else", role: "admin" } },
      }),
    );
    const audit = await call("GET", "/api/campaigns/api-self/audit", tokens.ada);
    expect(audit.json.intact).toBe(false);
  });
});
