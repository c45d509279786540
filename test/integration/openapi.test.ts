import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import { API_ROUTES } from "#functions/api/router.ts";
import { unsubscribeToken } from "#functions/campaign/decide.ts";
import { webhookSignature } from "#functions/receipts/core.ts";
import { receiptToken } from "#functions/receipts/vendor.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";
import { type Checked, documentChecker } from "./openapi-check.ts";

/**
 * Real requests against `tiercast serve` on the embedded runtime, every route of the router and the
 * public tracking paths, success and error cases: each answer's status, content type, headers and
 * body must be what GET /api/openapi.json says (an undocumented status, or a body the schema does not
 * take, fails), and every documented operation must have been answered with a success at least once.
 */

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;
let server: LocalServer;
let dispatch: DispatchServices;
let check: Awaited<ReturnType<typeof documentChecker>>;
const tokens = {} as Record<"ada" | "mia" | "ari" | "ann" | "bob" | "bea", string>;
const seen: Checked[] = [];
/** The RM workbench's users (an RM, another RM of their branch, its manager, another branch's manager). */
const fieldTokens: Record<string, string> = {};
type Task = { taskId: string; rmId: string; branchId?: string };

interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

async function call(method: string, path: string, options: CallOptions = {}) {
  const { token, body } = options;
  const res = await fetch(`${server.url}${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)
        ? { "content-type": "application/json" }
        : {}),
      ...options.headers,
    },
    body:
      body === undefined
        ? undefined
        : typeof body === "string" || body instanceof Uint8Array
          ? body
          : JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const result = check({ method, path, status: res.status, headers: res.headers, bytes });
  seen.push(result);
  if (!process.env.OPENAPI_LENIENT)
    expect(result.problems, `${method} ${path.slice(0, 120)} → ${res.status}`).toEqual([]);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {}
  return { status: res.status, json, text: bytes.toString("utf8"), headers: res.headers };
}

const get = (path: string, token?: string) => call("GET", path, { token });

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

const emailed = (campaignId: string) =>
  dormantCampaign({
    campaignId,
    variants: [
      {
        id: "E",
        tiers: ["potential", "quality"],
        channel: "email",
        subject: "欢迎回来",
        template: "<p>{{name|客户}}您好</p>",
      },
    ],
  });

describe("OpenAPI document against real answers of tiercast serve", () => {
  beforeAll(async () => {
    runtime = await localBank(600, new Date("2027-02-28T00:00:00Z"), {
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
      { userId: "bea", role: "admin", branchId: "BR001" },
    ];
    for (const u of users)
      tokens[u.userId as keyof typeof tokens] = (await addUser(runtime.repo, u, new Date(AT))).token;
    const doc = await (await fetch(`${server.url}/api/openapi.json`)).json();
    check = await documentChecker(doc as Record<string, unknown>);
  }, 120_000);
  afterAll(async () => {
    if (process.env.OPENAPI_DUMP) writeFileSync(process.env.OPENAPI_DUMP, JSON.stringify(seen, null, 1));
    await server?.stop();
    await runtime?.stop();
  });

  it("public: health, the document itself, unknown paths (404) and methods (405 with Allow)", async () => {
    expect((await get("/api/health")).status).toBe(200);
    expect((await get("/api/openapi.json")).status).toBe(200);
    expect((await get("/api/no-such-route")).status).toBe(404);
    const patch = await call("PATCH", "/api/campaigns", { token: tokens.mia, body: {} });
    expect(patch.status).toBe(405);
    expect((await call("DELETE", "/api/health")).status).toBe(405);
    expect((await get(`/api/health?x=${"y".repeat(3000)}`)).status).toBe(400);
  });

  it("who am I, and 401 without a valid token", async () => {
    expect((await get("/api/me", tokens.bob)).json).toMatchObject({
      userId: "bob",
      branchId: "BR001",
      timeZone: "Asia/Shanghai",
    });
    expect((await get("/api/me")).status).toBe(401);
    expect((await get("/api/campaigns", "tc_forgedforgedforgedforgedforged")).status).toBe(401);
  });

  it("campaigns: create (201, 400, 403, 409, 413), list, read (404, 403 other_branch), edit", async () => {
    expect(
      (await call("POST", "/api/campaigns", { token: tokens.mia, body: linked("oa-main") })).status,
    ).toBe(201);
    const invalid = await call("POST", "/api/campaigns", {
      token: tokens.mia,
      body: { campaignId: "bad", playbook: "x", variants: [] },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toBe("invalid_campaign");
    expect((await call("POST", "/api/campaigns", { token: tokens.ann, body: linked("oa-x") })).status).toBe(
      403,
    );
    expect(
      (await call("POST", "/api/campaigns", { token: tokens.mia, body: linked("oa-main") })).status,
    ).toBe(409);
    const huge = JSON.stringify({ ...linked("oa-huge"), name: "x".repeat(7 * 1024 * 1024) });
    expect((await call("POST", "/api/campaigns", { token: tokens.mia, body: huge })).status).toBe(413);
    expect((await call("POST", "/api/campaigns", { token: tokens.mia, body: "{not json" })).status).toBe(400);
    expect((await call("POST", "/api/campaigns", { token: tokens.bob, body: linked("oa-bob") })).status).toBe(
      201,
    );
    expect((await get("/api/campaigns", tokens.ann)).status).toBe(200);
    expect((await get("/api/campaigns/oa-main", tokens.ann)).json.campaign).toBeDefined();
    expect((await get("/api/campaigns/no-such", tokens.ann)).status).toBe(404);
    expect((await get("/api/campaigns/oa-main", tokens.bob)).json.error).toBe("other_branch");
    expect((await get(`/api/campaigns/${"x".repeat(300)}`, tokens.ann)).status).toBe(400);
    const edited = await call("PUT", "/api/campaigns/oa-main", {
      token: tokens.mia,
      body: { ...linked("oa-main"), name: "edited" },
    });
    expect(edited.json).toMatchObject({ version: 2, status: "draft" });
    expect(
      (await call("PUT", "/api/campaigns/oa-main", { token: tokens.mia, body: linked("other-id") })).status,
    ).toBe(400);
    expect(
      (await call("PUT", "/api/campaigns/no-such", { token: tokens.mia, body: linked("no-such") })).status,
    ).toBe(404);
  });

  it("previews a body and a saved campaign", async () => {
    expect((await call("POST", "/api/preview", { token: tokens.ann, body: linked("oa-dry") })).status).toBe(
      200,
    );
    expect(
      (await call("POST", "/api/preview", { token: tokens.ann, body: { campaignId: "x" } })).status,
    ).toBe(400);
    expect((await get("/api/campaigns/oa-main/preview", tokens.ann)).status).toBe(200);
    expect((await get("/api/campaigns/no-such/preview", tokens.ann)).status).toBe(404);
  });

  it("estimates, and runs the exact dry run as a job the approval view reads", async () => {
    expect((await call("POST", "/api/estimate", { token: tokens.ann, body: linked("oa-est") })).status).toBe(
      200,
    );
    expect(
      (await call("POST", "/api/estimate", { token: tokens.ann, body: { campaignId: "x" } })).status,
    ).toBe(400);
    expect((await get("/api/campaigns/oa-main/estimate", tokens.ann)).status).toBe(200);
    expect((await get("/api/campaigns/no-such/estimate", tokens.ann)).status).toBe(404);
    expect((await get("/api/campaigns/oa-main/dry-run", tokens.ari)).json.state).toBe("missing");
    const started = await call("POST", "/api/campaigns/oa-main/dry-runs", { token: tokens.ari, body: {} });
    expect(started.status).toBe(202);
    expect(
      (await call("POST", "/api/campaigns/no-such/dry-runs", { token: tokens.ari, body: {} })).status,
    ).toBe(404);
    expect(
      (await call("POST", "/api/campaigns/oa-main/dry-runs", { token: tokens.bob, body: {} })).status,
    ).toBe(403);
    const body = await call("POST", "/api/dry-runs", { token: tokens.mia, body: linked("oa-dry") });
    expect(body.status).toBe(202);
    expect(
      (await call("POST", "/api/dry-runs", { token: tokens.mia, body: { campaignId: "x" } })).status,
    ).toBe(400);
    for (const jobId of [started.json.jobId, body.json.jobId]) {
      let job = await get(`/api/dry-runs/${jobId}`, tokens.ann);
      for (let i = 0; i < 300 && job.json.status !== "done"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        job = await get(`/api/dry-runs/${jobId}`, tokens.ann);
      }
      expect(job.json.status).toBe("done");
      expect(job.json.result).toBeDefined();
    }
    expect((await get("/api/dry-runs/no-such", tokens.ann)).status).toBe(404);
    expect((await get(`/api/dry-runs/${started.json.jobId}`, tokens.bob)).status).toBe(403);
    expect((await get("/api/campaigns/oa-main/dry-run", tokens.ari)).json.state).toBe("current");
    expect((await get("/api/campaigns/no-such/dry-run", tokens.ari)).status).toBe(404);
  });

  it("maker-checker: submit, approve (403 self_approval), reject, launch (409), pause, resume, cancel", async () => {
    const act = (id: string, action: string, token: string, body: unknown = {}) =>
      call("POST", `/api/campaigns/${id}/${action}`, { token, body });
    expect((await act("oa-main", "launch", tokens.mia)).json.error).toBe("invalid_transition");
    expect((await act("oa-main", "submit", tokens.mia)).status).toBe(200);
    expect((await act("oa-main", "approve", tokens.mia)).status).toBe(403);
    expect((await act("oa-main", "approve", tokens.ari, { note: "ok" })).json.status).toBe("approved");
    expect((await act("oa-main", "launch", tokens.ari)).status).toBe(403);
    const launched = await act("oa-main", "launch", tokens.mia);
    expect(launched.status).toBe(200);
    expect(launched.json.executionId).toBeDefined();
    await Promise.all([...server.running]);
    expect((await act("oa-main", "pause", tokens.mia)).json.status).toBe("paused");
    expect((await act("oa-main", "resume", tokens.mia)).json.status).toBe("launched");
    expect((await act("oa-main", "resume", tokens.mia)).status).toBe(409);
    expect((await act("no-such", "submit", tokens.mia)).status).toBe(404);
    expect((await act("oa-main", "submit", tokens.bob)).status).toBe(403);
    expect((await act("oa-main", "submit", tokens.mia, { note: 7 })).status).toBe(400);

    await call("POST", "/api/campaigns", { token: tokens.ada, body: emailed("oa-self") });
    await act("oa-self", "submit", tokens.ada);
    expect((await act("oa-self", "approve", tokens.ada)).json.error).toBe("self_approval");
    expect((await act("oa-self", "reject", tokens.ari, { note: "wording" })).json.status).toBe("rejected");
    expect((await act("oa-self", "cancel", tokens.ada)).json.status).toBe("cancelled");
    expect((await act("oa-self", "cancel", tokens.ada)).status).toBe(409);

    // The approver's diff: nothing before a first approval; after an edit, the field that changed.
    await call("POST", "/api/campaigns", { token: tokens.mia, body: linked("oa-diff") });
    expect((await get("/api/campaigns/oa-diff/changes", tokens.ari)).json.lastApproved).toBeNull();
    await act("oa-diff", "submit", tokens.mia);
    await act("oa-diff", "approve", tokens.ari);
    const edited = linked("oa-diff");
    edited.variants[0]!.template = "{{name|客户}}您好，欢迎回来 {{link}}";
    await call("PUT", "/api/campaigns/oa-diff", { token: tokens.mia, body: edited });
    const diff = await get("/api/campaigns/oa-diff/changes", tokens.ari);
    expect(diff.status).toBe(200);
    expect(diff.json).toMatchObject({
      version: 2,
      lastApproved: { version: 1, by: "ari" },
      changes: [
        {
          path: "variants[A].template",
          before: "{{name|客户}}您好，点此领取 {{link}}",
          after: "{{name|客户}}您好，欢迎回来 {{link}}",
        },
      ],
    });
    expect((await get("/api/campaigns/no-such/changes", tokens.ari)).status).toBe(404);
    // A role refused says what it cannot do and who can, with no reference to a document.
    const refused = await call("POST", "/api/campaigns", { token: tokens.ann, body: linked("oa-ann") });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe(
      "the analyst role cannot create a draft campaign (allowed: marketer, admin)",
    );

    // An email campaign, so there is an unsubscribe link and an open pixel to follow below.
    await call("POST", "/api/campaigns", { token: tokens.mia, body: emailed("oa-mail") });
    await act("oa-mail", "submit", tokens.mia);
    await act("oa-mail", "approve", tokens.ari);
    expect((await act("oa-mail", "launch", tokens.mia)).status).toBe(200);
    await Promise.all([...server.running]);
  }, 120_000);

  it("audit trail, funnel, ledger (JSON, CSV pages with the cursor header), targets", async () => {
    expect((await get("/api/campaigns/oa-main/audit", tokens.ann)).json.intact).toBe(true);
    expect((await get("/api/campaigns/oa-main/funnel", tokens.ann)).status).toBe(200);
    const page = await get("/api/campaigns/oa-main/ledger?limit=3", tokens.ann);
    expect((page.json.rows as unknown[]).length).toBe(3);
    const next = page.json.next as string;
    expect(
      (await get(`/api/campaigns/oa-main/ledger?limit=3&cursor=${encodeURIComponent(next)}`, tokens.ann))
        .status,
    ).toBe(200);
    const csv = await get("/api/campaigns/oa-main/ledger?format=csv&limit=2", tokens.ann);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.headers.get("x-next-cursor")).toBeTruthy();
    const customerId = (page.json.rows as { customerId: string }[])[0]!.customerId;
    expect((await get(`/api/campaigns/oa-main/ledger?customer=${customerId}`, tokens.ann)).status).toBe(200);
    expect((await get("/api/campaigns/oa-main/ledger?customer=nobody", tokens.ann)).status).toBe(404);
    expect((await get("/api/campaigns/oa-main/ledger?limit=0", tokens.ann)).status).toBe(400);
    expect((await get("/api/campaigns/oa-main/ledger?cursor=x:y", tokens.ann)).status).toBe(400);

    expect((await get("/api/campaigns/oa-main/targets", tokens.ann)).status).toBe(200);
    const target = { period: "2027Q1", stage: "sent", value: 100 };
    expect(
      (await call("PUT", "/api/campaigns/oa-main/targets", { token: tokens.mia, body: target })).status,
    ).toBe(200);
    expect(
      (
        await call("PUT", "/api/campaigns/oa-main/targets", {
          token: tokens.mia,
          body: { ...target, period: "Q9" },
        })
      ).status,
    ).toBe(400);
    expect((await get("/api/campaigns/no-such/funnel", tokens.ann)).status).toBe(404);
  });

  it("customers: decisions (404, 403), import JSONL/CSV (400 bad format), uncontactable", async () => {
    const page = await get("/api/campaigns/oa-main/ledger?limit=1", tokens.ann);
    const customerId = (page.json.rows as { customerId: string }[])[0]!.customerId;
    expect((await get(`/api/customers/${customerId}/decisions`, tokens.ann)).status).toBe(200);
    expect((await get("/api/customers/nobody/decisions", tokens.ann)).status).toBe(404);
    const rows = [
      { customerId: "OA-1", branchId: "BR001", aum: 100, phone: "13800000001" },
      { customerId: "OA-2", branchId: "BR002", aum: 100, phone: "13800000002" },
    ];
    const jsonl = `${rows.map((r) => JSON.stringify(r)).join("\n")}\n{broken\n`;
    expect(
      (await call("POST", "/api/customers/import", { token: tokens.mia, body: jsonl })).json,
    ).toMatchObject({
      imported: 2,
    });
    const csv = "customerId,branchId,aum\nOA-3,BR001,5000\n";
    expect(
      (await call("POST", "/api/customers/import?format=csv", { token: tokens.bob, body: csv })).status,
    ).toBe(200);
    expect(
      (await call("POST", "/api/customers/import?format=xml", { token: tokens.mia, body: csv })).status,
    ).toBe(400);
    expect((await call("POST", "/api/customers/import", { token: tokens.ann, body: csv })).status).toBe(403);
    expect((await get("/api/customers/OA-2/decisions", tokens.bob)).status).toBe(403);
    expect((await get("/api/uncontactable", tokens.ann)).status).toBe(200);
    expect((await get("/api/uncontactable?lostOnly=true&branch=BR001", tokens.bob)).status).toBe(200);
    expect((await get("/api/uncontactable?branch=BR002", tokens.bob)).status).toBe(403);
  });

  it("events: JSONL and a JSON array, idempotent; admins of head office only", async () => {
    const page = await get("/api/campaigns/oa-main/ledger?limit=1", tokens.ann);
    const customerId = (page.json.rows as { customerId: string }[])[0]!.customerId;
    const event = { eventId: "oa-1", type: "replied", customerId, campaignId: "oa-main", at: AT };
    const first = await call("POST", "/api/events", {
      token: tokens.ada,
      body: `${JSON.stringify(event)}\nnope\n`,
    });
    expect(first.json).toMatchObject({ accepted: 1, rejected: [{ line: 2 }] });
    const array = await call("POST", "/api/events", { token: tokens.ada, body: JSON.stringify([event]) });
    expect(array.json).toMatchObject({ duplicates: 1 });
    expect((await call("POST", "/api/events", { token: tokens.ada, body: "[1," })).status).toBe(400);
    expect((await call("POST", "/api/events", { token: tokens.ann, body: "" })).status).toBe(403);
    expect(
      (await call("POST", "/api/events", { token: tokens.bea, body: JSON.stringify([event]) })).status,
    ).toBe(403);
  });

  it("import jobs: create (201), start before upload (409), upload, start (202), progress (404)", async () => {
    const created = await call("POST", "/api/imports", { token: tokens.mia, body: { format: "csv" } });
    expect(created.status).toBe(201);
    const { jobId, uploadUrl } = created.json as { jobId: string; uploadUrl: string };
    expect((await call("POST", "/api/imports", { token: tokens.mia, body: { format: "pdf" } })).status).toBe(
      400,
    );
    expect((await call("POST", `/api/imports/${jobId}/start`, { token: tokens.mia, body: {} })).status).toBe(
      409,
    );
    const up = await fetch(uploadUrl, { method: "PUT", body: "customerId,aum\nJ-1,100\nJ-2,oops\n" });
    expect(up.status).toBe(200);
    expect((await call("POST", `/api/imports/${jobId}/start`, { token: tokens.mia, body: {} })).status).toBe(
      202,
    );
    await Promise.all([...server.running]);
    const deadline = Date.now() + 60_000;
    let progress = await get(`/api/imports/${jobId}`, tokens.mia);
    while (progress.json.status !== "done" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await get(`/api/imports/${jobId}`, tokens.mia);
    }
    expect(progress.json).toMatchObject({ status: "done", imported: 1, rejected: 1 });
    expect((await call("POST", `/api/imports/${jobId}/start`, { token: tokens.mia, body: {} })).status).toBe(
      200,
    );
    expect((await get(`/api/imports/${jobId}?cursor=abc`, tokens.mia)).status).toBe(400);
    expect((await get("/api/imports/no-such-job", tokens.mia)).status).toBe(404);
    expect((await get(`/api/imports/${jobId}`, tokens.bob)).status).toBe(403);
  });

  it("users and the whole audit log's verification", async () => {
    expect((await get("/api/users", tokens.ada)).status).toBe(200);
    expect((await get("/api/users", tokens.mia)).status).toBe(403);
    const added = await call("POST", "/api/users", {
      token: tokens.ada,
      body: { userId: "oa-new", role: "analyst" },
    });
    expect(added.status).toBe(201);
    expect(added.json.token).toBeTruthy();
    expect(
      (await call("POST", "/api/users", { token: tokens.ada, body: { userId: "x", role: "king" } })).status,
    ).toBe(400);
    expect(
      (
        await call("POST", "/api/users", {
          token: tokens.bea,
          body: { userId: "y", role: "analyst", branchId: "BR002" },
        })
      ).status,
    ).toBe(403);
    expect((await get("/api/audit/verify", tokens.ada)).json.intact).toBe(true);
    expect((await get("/api/audit/verify", tokens.bea)).status).toBe(403);
  });

  it("schedules: set (400 bad cron, 404 no campaign), list, run due, delete (404)", async () => {
    const bad = await call("PUT", "/api/schedules/oa-monthly", {
      token: tokens.mia,
      body: { campaignId: "oa-main", cron: "61 25 * * MON" },
    });
    expect(bad.status).toBe(400);
    expect(
      (
        await call("PUT", "/api/schedules/oa-monthly", {
          token: tokens.mia,
          body: { campaignId: "nope", cron: "0 10 1 * *" },
        })
      ).status,
    ).toBe(404);
    const ok = await call("PUT", "/api/schedules/oa-monthly", {
      token: tokens.mia,
      body: { campaignId: "oa-main", cron: "0 10 1 * *" },
    });
    expect(ok.status).toBe(200);
    expect((await get("/api/schedules", tokens.ann)).status).toBe(200);
    setClock(runtime, "2027-04-01T02:00:30.000Z");
    const run = await call("POST", "/api/schedules/run-due", { token: tokens.ada, body: {} });
    setClock(runtime, AT);
    expect((run.json.runs as unknown[]).length).toBe(1);
    await Promise.all([...server.running]);
    expect((await call("POST", "/api/schedules/run-due", { token: tokens.bea, body: {} })).status).toBe(403);
    expect((await call("DELETE", "/api/schedules/oa-monthly", { token: tokens.mia })).status).toBe(200);
    expect((await call("DELETE", "/api/schedules/oa-monthly", { token: tokens.mia })).status).toBe(404);
  }, 120_000);

  it("public tracking: click redirect (302, 404), open pixel, unsubscribe GET/POST (RFC 8058), SMS webhook", async () => {
    const sms = dispatch.sms.messages.find((m) => m.tag.startsWith("oa-main#"))!;
    const link = /http:\/\/127\.0\.0\.1(\/t\/c\/\S+)/.exec(sms.text)![1]!;
    const click = await get(link);
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://bank.example/welcome-back");
    expect((await get(`${link.slice(0, -2)}zz`)).status).toBe(404);
    expect((await get("/t/o/forged.gif")).status).toBe(200);

    const mailed = await get("/api/campaigns/oa-mail/ledger?limit=5000", tokens.ann);
    const customerId = (mailed.json.rows as { customerId: string; decision: string }[]).find(
      (r) => r.decision === "sent",
    )!.customerId;
    const t = unsubscribeToken(runtime.secret, "oa-mail", customerId);
    const u = `/u?c=oa-mail&r=${encodeURIComponent(customerId)}&t=${t}`;
    expect((await get(u)).text).toContain("<form");
    const oneClick = await call("POST", u, {
      body: "List-Unsubscribe=One-Click",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(oneClick.status).toBe(200);
    expect((await get(`/u?c=oa-mail&r=${encodeURIComponent(customerId)}&t=forged`)).status).toBe(404);

    const hook = (body: unknown, signature?: string) =>
      call("POST", "/hooks/sms", {
        body: typeof body === "string" ? body : JSON.stringify(body),
        headers: {
          "content-type": "application/json",
          ...(signature ? { "x-tiercast-signature": signature } : {}),
        },
      });
    const delivered = { type: "delivered", tag: sms.tag, messageId: "oa-gw-1", at: AT };
    expect((await hook(delivered)).status).toBe(401);
    const signed = (b: unknown) => webhookSignature(runtime.secret, JSON.stringify(b));
    expect((await hook(delivered, signed(delivered))).json.status).toBe("accepted");
    const bad = { ...delivered, type: "exploded" };
    expect((await hook(bad, signed(bad))).status).toBe(400);
    const unknown = {
      ...delivered,
      tag: "oa-main#nobody#sms",
      messageId: "oa-gw-2",
      at: "2027-02-30T00:00:00Z",
    };
    const refused = await hook(unknown, signed(unknown));
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe("bad_input");
    const again = await hook(delivered, signed(delivered));
    expect(again.json.status).toBe("duplicate");
    const big = "x".repeat(1024 * 1024 + 10);
    expect((await hook(big, webhookSignature(runtime.secret, big))).status).toBe(413);

    // The domestic vendors' pushes (AWS China), with their callback URL's token.
    const push = (
      vendor: "aliyun" | "tencent",
      body: unknown,
      token = receiptToken(runtime.secret, vendor),
    ) =>
      call("POST", `/hooks/sms/${vendor}?token=${token}`, {
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    const report = {
      phone_number: "13800138000",
      send_time: "2027-03-01 10:00:00",
      report_time: "2027-03-01 10:00:03",
      success: true,
      err_code: "DELIVERED",
      biz_id: "oa-biz-1^0",
      out_id: sms.tag,
    };
    const aliyun = await push("aliyun", [report]);
    expect(aliyun.status).toBe(200);
    expect(aliyun.json).toMatchObject({ code: 0 });
    expect((await push("aliyun", [report], "wrong")).status).toBe(401);
    expect((await push("aliyun", [{ ...report, success: "yes" }])).status).toBe(400);
    const tencent = await push("tencent", [
      { user_receive_time: "2027-03-01 10:00:03", report_status: "SUCCESS", sid: "oa-serial-unknown" },
    ]);
    expect(tencent.json).toMatchObject({ result: 0, ignored: 1 });
  });

  it("RM tasks: list, read, complete (409 task_closed), reassign, handover (403 other_rm, other_branch, 404)", async () => {
    // A launched key-maintenance campaign makes the RM tasks (as in tasks.test.ts).
    await launchCampaign(
      runtime,
      readCampaignFile("examples/key-maintenance.json", runtime.config),
      new Date(AT),
    );
    const all = (await get("/api/tasks", tokens.ada)).json.tasks as Task[];
    const byRm = new Map<string, Task[]>();
    for (const t of all) byRm.set(t.rmId, [...(byRm.get(t.rmId) ?? []), t]);
    const [rmId, mine] = [...byRm].sort((a, b) => b[1].length - a[1].length)[0]!;
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const branchId = mine[0]!.branchId!;
    const field: NewUser[] = [
      { userId: rmId, role: "rm", branchId },
      { userId: "oa-rm2", role: "rm", branchId },
      { userId: "oa-bm", role: "branch_manager", branchId },
      { userId: "oa-bm9", role: "branch_manager", branchId: "BR999" },
    ];
    for (const u of field) fieldTokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
    const rm = fieldTokens[rmId]!;
    const rm2 = fieldTokens["oa-rm2"]!;
    const bm = fieldTokens["oa-bm"]!;
    const bm9 = fieldTokens["oa-bm9"]!;

    expect(((await get("/api/tasks", rm)).json.tasks as unknown[]).length).toBe(mine.length);
    expect((await get("/api/tasks?status=all&overdue=true", bm)).status).toBe(200);
    expect((await get("/api/tasks?rm=oa-rm2", rm)).json.error).toBe("other_rm");
    expect((await get("/api/tasks?status=nope", rm)).status).toBe(400);
    expect((await get("/api/tasks", tokens.ann)).status).toBe(403);

    const [first, second] = mine as [Task, Task];
    const one = `/api/tasks/${encodeURIComponent(first.taskId)}`;
    expect((await get(one, rm)).json.customer).toBeDefined();
    expect((await get(one, bm)).status).toBe(200);
    expect((await get(one, bm9)).json.error).toBe("other_branch");
    expect((await get(one, rm2)).json.error).toBe("other_rm");
    expect((await get("/api/tasks/no-such", rm)).status).toBe(404);

    const complete = (path: string, token: string, body: unknown) =>
      call("POST", `${path}/complete`, { token, body });
    expect((await complete(one, rm, { outcome: "no_answer" })).json).toMatchObject({ status: "open" });
    expect((await complete(one, rm, { outcome: "appointment", note: "周五面谈" })).json).toMatchObject({
      status: "done",
      attempts: 2,
    });
    expect((await complete(one, rm, { outcome: "appointment" })).status).toBe(200);
    expect((await complete(one, rm, { outcome: "declined" })).json.error).toBe("task_closed");
    expect((await complete(one, rm, { outcome: "maybe" })).status).toBe(400);
    expect((await complete("/api/tasks/no-such", rm, { outcome: "reached" })).status).toBe(404);
    expect((await complete(one, rm2, { outcome: "reached" })).json.error).toBe("other_rm");
    expect((await complete(one, tokens.ann, { outcome: "reached" })).status).toBe(403);
    expect((await get(one, bm)).json).toMatchObject({ status: "done", closedBy: rmId, note: "周五面谈" });

    const reassign = (task: string, token: string, body: unknown) =>
      call("POST", `/api/tasks/${encodeURIComponent(task)}/reassign`, { token, body });
    expect((await reassign(second.taskId, bm, { to: "oa-rm2" })).json).toMatchObject({
      rmId: "oa-rm2",
      handovers: [{ from: rmId, to: "oa-rm2", by: "oa-bm" }],
    });
    expect((await reassign(second.taskId, bm, { to: "oa-bm9" })).status).toBe(400);
    expect((await reassign(second.taskId, bm9, { to: rmId })).json.error).toBe("other_branch");
    expect((await reassign(second.taskId, rm, { to: rmId })).status).toBe(403);
    expect((await reassign(first.taskId, bm, { to: "oa-rm2" })).json.error).toBe("task_closed");
    expect((await reassign("no-such", bm, { to: "oa-rm2" })).status).toBe(404);

    const handover = (from: string, token: string, body: unknown) =>
      call("POST", `/api/rms/${from}/handover`, { token, body });
    expect((await handover("oa-rm2", bm, { to: rmId })).json).toMatchObject({ moved: 1 });
    expect((await handover("oa-rm2", bm, { to: rmId })).status).toBe(404);
    expect((await handover(rmId, bm, { to: "oa-bm9" })).status).toBe(400);
    expect((await handover(rmId, rm, { to: "oa-rm2" })).status).toBe(403);
  }, 120_000);

  it("RM books, the contact plan and an RM's book (400, 403 other_rm, other_branch, role)", async () => {
    const rmId = Object.keys(fieldTokens).find((u) => !u.startsWith("oa-"))!;
    const rm = fieldTokens[rmId]!;
    const bm = fieldTokens["oa-bm"]!;
    expect((await get("/api/books", bm)).json.cap).toBeGreaterThan(0);
    expect((await get("/api/books?cap=5", tokens.ada)).status).toBe(200);
    expect((await get("/api/books?cap=0", bm)).status).toBe(400);
    expect((await get("/api/books?branch=BR999", bm)).json.error).toBe("other_branch");
    expect((await get("/api/books", rm)).status).toBe(403);

    const rms = await get("/api/rms", bm);
    expect(rms.status).toBe(200);
    expect((rms.json.rms as { rmId: string }[]).map((r) => r.rmId)).toContain("oa-rm2");
    expect((await get("/api/rms?branch=BR999", bm)).json.error).toBe("other_branch");
    expect((await get("/api/rms", rm)).status).toBe(403);
    const page = await get("/api/tasks?status=all&limit=1", bm);
    expect((page.json.tasks as unknown[]).length).toBe(1);
    expect(typeof page.json.next).toBe("string");
    expect((await get(`/api/tasks?limit=1&status=all&cursor=${page.json.next}`, bm)).status).toBe(200);
    expect((await get("/api/tasks?cursor=x", bm)).status).toBe(400);

    expect((await get("/api/plans/2027-03", bm)).json.month).toBe("2027-03");
    expect((await get("/api/plans/2027-13", bm)).status).toBe(400);
    expect((await get("/api/plans/2027-03?branch=BR999", bm)).json.error).toBe("other_branch");
    expect((await get("/api/plans/2027-03", rm)).status).toBe(403);

    const book = await get("/api/book?limit=5", rm);
    expect(book.json.rmId).toBe(rmId);
    expect((book.json.customers as unknown[]).length).toBeGreaterThan(0);
    expect((await get(`/api/book?rm=${rmId}`, bm)).status).toBe(200);
    expect((await get("/api/book", bm)).status).toBe(400);
    expect((await get("/api/book?limit=0", rm)).status).toBe(400);
    expect((await get("/api/book?rm=oa-rm2", rm)).json.error).toBe("other_rm");
    expect((await get(`/api/book?rm=${rmId}`, tokens.ann)).status).toBe(403);
  });

  it("branch and RM performance, the cascaded indicators and the book rules (CSV, 400, 403, 404)", async () => {
    const rmId = Object.keys(fieldTokens).find((u) => !u.startsWith("oa-"))!;
    const rm = fieldTokens[rmId]!;
    const bm = fieldTokens["oa-bm"]!;
    expect((await get("/api/performance?by=rm", tokens.ann)).json.by).toBe("rm");
    expect((await get("/api/performance?format=csv", bm)).status).toBe(200);
    expect((await get("/api/performance", rm)).status).toBe(200);
    expect((await get("/api/performance?by=tier", tokens.ann)).status).toBe(400);
    expect((await get("/api/performance?branch=BR999", bm)).json.error).toBe("other_branch");
    expect((await get("/api/performance?campaign=no-such", tokens.ann)).status).toBe(404);

    const put = (path: string, token: string, body: unknown) => call("PUT", path, { token, body });
    expect((await put("/api/indicators/2027Q1/converted", tokens.ada, { value: 1000 })).json.value).toBe(
      1000,
    );
    expect((await put("/api/indicators/2027Q1/converted", tokens.ada, { value: 0 })).status).toBe(400);
    expect((await put("/api/indicators/2027Q1/converted", bm, { value: 10 })).status).toBe(403);
    expect((await get("/api/indicators/2027Q1/converted?grain=month", bm)).status).toBe(200);
    expect((await get("/api/indicators/2027Q1/converted?level=town", bm)).status).toBe(400);
    expect((await get("/api/indicators/2027Q1/converted?branch=BR999", bm)).json.error).toBe("other_branch");
    expect((await get("/api/indicators/2027Q2/converted", tokens.ann)).status).toBe(404);
    // The branch manager re-splits the branch's share among its RMs (here: as the cascade had it).
    const theirs = (await get("/api/indicators/2027Q1/converted?level=rm&grain=quarter", bm)).json.rows as {
      branchId: string;
      rmId: string;
      target: number;
    }[];
    expect(theirs.length).toBeGreaterThan(0);
    const branchOf = theirs[0]!.branchId;
    const split = `/api/indicators/2027Q1/converted/branches/${branchOf}`;
    const rms = theirs.map((r) => ({ rmId: r.rmId, quarter: r.target }));
    expect((await put(split, bm, { rms })).json.branchId).toBe(branchOf);
    expect((await put(split, bm, { rms: [{ rmId: "nobody", quarter: 1 }] })).status).toBe(400);
    expect((await put(split, rm, { rms })).status).toBe(403);
    expect((await put(`/api/indicators/2027Q1/converted/branches/BR999`, bm, { rms })).json.error).toBe(
      "other_branch",
    );
    expect((await put(`/api/indicators/2027Q2/converted/branches/${branchOf}`, bm, { rms })).status).toBe(
      404,
    );

    const assign = (token: string, body: unknown) => call("POST", "/api/books/assign", { token, body });
    expect((await assign(bm, { dryRun: true })).json.dryRun).toBe(true);
    expect((await assign(tokens.ada, { tiers: ["gold"], dryRun: true })).status).toBe(400);
    expect((await assign(rm, {})).status).toBe(403);
  });

  it("referral rewards: list (JSON, CSV), pay once (409 reward_paid, 404, 403)", async () => {
    const drive = "referral-2027-spring";
    await launchCampaign(
      runtime,
      readCampaignFile("examples/referral-drive.json", runtime.config),
      new Date(AT),
    );
    const referrer = (await ledgerRows(runtime, drive)).find((r) => r.decision === "sent")!;
    // The referee opens an account with the code, then funds it (two files, as in rewards.test.ts).
    const events = [
      {
        eventId: "oa-open",
        type: "account_opened",
        customerId: "OA-NEW-1",
        at: "2027-03-02T02:00:00Z",
        referralCode: referrer.referralCode,
      },
      {
        eventId: "oa-dep",
        type: "deposit",
        customerId: "OA-NEW-1",
        at: "2027-03-03T02:00:00Z",
        amount: 10_000,
      },
    ];
    for (const e of events)
      expect(
        (await call("POST", "/api/events", { token: tokens.ada, body: JSON.stringify(e) })).json,
      ).toMatchObject({
        accepted: 1,
      });
    const due = await get("/api/rewards?status=due", tokens.mia);
    expect(due.json.rewards).toEqual([expect.objectContaining({ referrerId: referrer.customerId })]);
    const csv = await get(`/api/rewards?campaign=${drive}&format=csv`, tokens.ann);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect((await get("/api/rewards?status=nope", tokens.mia)).status).toBe(400);
    expect((await get("/api/rewards?campaign=no-such", tokens.mia)).status).toBe(404);
    expect((await get("/api/rewards", tokens.ari)).status).toBe(403);

    const pay = `/api/rewards/${drive}/${referrer.customerId}/pay`;
    expect((await call("POST", pay, { token: tokens.mia, body: { reference: "S-1" } })).status).toBe(403);
    expect((await call("POST", pay, { token: tokens.ada, body: { reference: "S-1" } })).json).toMatchObject({
      status: "paid",
      paidBy: "ada",
    });
    expect((await call("POST", pay, { token: tokens.ada, body: { reference: "S-1" } })).status).toBe(200);
    expect((await call("POST", pay, { token: tokens.ada, body: { reference: "S-2" } })).json.error).toBe(
      "reward_paid",
    );
    expect(
      (await call("POST", `/api/rewards/${drive}/nobody/pay`, { token: tokens.ada, body: {} })).status,
    ).toBe(404);
  }, 120_000);

  it("answered every documented operation with a success, and every status it saw was documented", () => {
    const missing = check.operations.filter(
      (op) => !seen.some((s) => s.operation === op && s.status >= 200 && s.status < 400),
    );
    expect(missing).toEqual([]);
    // Errors seen and checked: every kind the document lists.
    const statuses = new Set(seen.map((s) => s.status));
    for (const status of [200, 201, 202, 302, 400, 401, 403, 404, 405, 409, 413])
      expect(statuses).toContain(status);
    expect(seen.length).toBeGreaterThan(100);
    expect(API_ROUTES.every((r) => check.operations.includes(`${r.method} ${r.path}`))).toBe(true);
  });
});
