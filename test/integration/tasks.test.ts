import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import { API_ROUTES } from "#functions/api/router.ts";
import { readAudit } from "#functions/audit/store.ts";
import { closedReason, prepare } from "#functions/campaign/decide.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { readContact } from "#functions/contact/gate.ts";
import { booksReport, keyNotContacted, uncontactable } from "#functions/customers/reports.ts";
import { bookPage, getCustomer, putCustomers, upsertCustomers } from "#functions/customers/store.ts";
import { ingestEvent } from "#functions/events/core.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { importRecords } from "#functions/import/core.ts";
import { getTask, type Task } from "#functions/tasks/store.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import { completeTaskAs, listTasksAs } from "#functions/usecases/tasks.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { key } from "#platform/table.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

const BANK_AT = new Date("2027-02-28T00:00:00Z");
const AT = "2027-03-05T02:00:00.000Z";
const OPERATOR = { userId: "operator@test", role: "admin" as const };
let runtime: Runtime;
let server: LocalServer;
let deps: UseCaseDeps;
let tasks: Task[] = [];
const maintenanceId = "key-care-2027-03";
const tokens: Record<string, string> = {};

const call = apiCaller(() => server.url);

/** Every customer of an RM's book (the book index), by id. */
async function bookOf(rmId: string) {
  const all: Awaited<ReturnType<typeof bookPage>>["customers"] = [];
  for (let cursor: string | undefined, more = true; more; ) {
    const page = await bookPage(runtime.repo, rmId, cursor, 1000);
    all.push(...page.customers);
    cursor = page.next ?? undefined;
    more = page.next !== null;
  }
  return all;
}

/** The RMs with the most open tasks, two of them in one branch (for the branch manager's handover). */
function rmsOf(all: Task[]) {
  const byRm = new Map<string, Task[]>();
  for (const t of all) byRm.set(t.rmId, [...(byRm.get(t.rmId) ?? []), t]);
  const ranked = [...byRm.entries()].sort((a, b) => b[1].length - a[1].length);
  const [first] = ranked;
  const mate = ranked.find(([rm, ts]) => rm !== first![0] && ts[0]!.branchId === first![1][0]!.branchId);
  const other = ranked.find(([rm]) => rm !== first![0] && rm !== mate?.[0]);
  return { rm: first!, mate: mate!, other: other! };
}

describe("RM tasks", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, BANK_AT);
    setClock(runtime, AT);
    await startDispatch(runtime);
    deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("does not count a key customer as contacted when an RM task is only created", async () => {
    const maintenance = readCampaignFile("examples/key-maintenance.json", runtime.config);
    await launchCampaign(runtime, maintenance, new Date(AT));
    const rows = (await ledgerRows(runtime, maintenance.campaignId)).filter(
      (r) => r.decision === "sent" && r.tier === "key",
    );
    const created = rows.filter((r) => r.channel === "rm-task").length;
    expect(created).toBeGreaterThan(0);
    const report = await keyNotContacted(runtime, "2027-03");
    // Only the SMS fallback reached anyone; a task nobody worked is not a contact.
    expect(report.contacted).toBe(rows.length - created);
  });

  it("makes one open task per rm-task send, with the context the RM needs and no contact details", async () => {
    const sends = (await ledgerRows(runtime, maintenanceId)).filter(
      (r) => r.decision === "sent" && r.channel === "rm-task",
    );
    tasks = await listTasksAs(deps, OPERATOR, { status: "open" });
    expect(tasks.map((t) => t.customerId).sort()).toEqual(sends.map((r) => r.customerId).sort());
    const t = tasks[0]!;
    const customer = (await getCustomer(runtime.repo, t.customerId))!;
    expect(t).toMatchObject({
      rmId: customer.rmId,
      branchId: customer.branchId,
      campaignId: maintenanceId,
      status: "open",
      attempts: 0,
      priority: "high",
      context: { tier: customer.tier, playbook: "key-maintenance" },
    });
    expect(t.context.script).toContain("月度维护");
    expect(t.context.aumBand?.min).toBeGreaterThanOrEqual(300_000);
    expect(Date.parse(t.dueAt)).toBeGreaterThan(Date.parse(AT));
    expect(JSON.stringify(t)).not.toContain(customer.phone ?? "no phone");
    // Each RM's list is one query on their partition, and holds only their tasks.
    const mine = await listTasksAs(deps, OPERATOR, { rmId: t.rmId });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((x) => x.rmId === t.rmId)).toBe(true);
    // Due first.
    expect(mine.map((x) => x.dueAt)).toEqual([...mine.map((x) => x.dueAt)].sort());
  });

  it("closes a task once: a contact converts the maintenance recipient and counts in the key report", async () => {
    const t = tasks[0]!;
    const before = await readFunnel(runtime.repo, maintenanceId);
    const report = await keyNotContacted(runtime, "2027-03");
    const done = await completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "reached", note: "想了解理财" });
    expect(done).toMatchObject({
      status: "done",
      outcome: "reached",
      attempts: 1,
      closedBy: OPERATOR.userId,
    });
    const after = await readFunnel(runtime.repo, maintenanceId);
    expect(after.total.converted).toBe(before.total.converted + 1);
    expect((await keyNotContacted(runtime, "2027-03")).contacted).toBe(report.contacted + 1);
    // The same outcome again changes nothing (no second conversion); another outcome is refused.
    const again = await completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "reached" });
    expect(again.attempts).toBe(1);
    expect((await readFunnel(runtime.repo, maintenanceId)).total.converted).toBe(after.total.converted);
    await expect(completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "declined" })).rejects.toMatchObject({
      code: "task_closed",
    });
    const trail = await readAudit(deps, "task", t.taskId);
    expect(trail.entries.map((e) => e.action)).toEqual(["complete"]);
    expect(JSON.stringify(trail.entries)).not.toContain("想了解理财");
  });

  it("converts a task's recipient only when the RM closes it, not on an event about the task", async () => {
    const t = tasks[tasks.length - 1]!;
    const before = await readFunnel(runtime.repo, maintenanceId);
    const outcome = await ingestEvent(
      {
        eventId: "rm-reply-1",
        type: "replied",
        customerId: t.customerId,
        campaignId: maintenanceId,
        channel: "rm-task",
        at: AT,
      },
      { repo: runtime.repo, shards: runtime.config.shards },
    );
    expect(outcome).toMatchObject({ status: "accepted", stage: "responded" });
    const after = await readFunnel(runtime.repo, maintenanceId);
    expect(after.total.converted).toBe(before.total.converted);
    expect(after.total.responded).toBe(before.total.responded + 1);
  });

  it("keeps a no-answer task open with the attempt logged, and a retry closes it", async () => {
    const t = tasks[1]!;
    const report = await keyNotContacted(runtime, "2027-03");
    const first = await completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "no_answer" });
    expect(first).toMatchObject({ status: "open", attempts: 1 });
    expect(first.outcome).toBeUndefined();
    expect((await keyNotContacted(runtime, "2027-03")).contacted).toBe(report.contacted);
    const second = await completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "declined" });
    expect(second).toMatchObject({ status: "done", outcome: "declined", attempts: 2 });
    expect(second.attemptLog?.map((a) => a.outcome)).toEqual(["no_answer", "declined"]);
    // Declining is a contact made (key report) but not the maintenance conversion.
    expect((await keyNotContacted(runtime, "2027-03")).contacted).toBe(report.contacted + 1);
  });

  it("marks a wrong number through the contact owner, so SMS and phone tasks exclude it", async () => {
    const t = tasks.find((x) => x !== tasks[0] && x !== tasks[1])!;
    const funnel = await readFunnel(runtime.repo, maintenanceId);
    const report = await keyNotContacted(runtime, "2027-03");
    await completeTaskAs(deps, OPERATOR, t.taskId, { outcome: "wrong_number" });
    expect((await readFunnel(runtime.repo, maintenanceId)).total.converted).toBe(funnel.total.converted);
    expect((await keyNotContacted(runtime, "2027-03")).contacted).toBe(report.contacted);
    const customer = (await getCustomer(runtime.repo, t.customerId))!;
    const state = await readContact(runtime.repo, key.contactState(t.customerId));
    const campaign = parseCampaign(
      readCampaignFile("examples/key-maintenance.json", runtime.config),
      runtime.config,
    );
    const ctx = prepare(campaign, runtime.config, new Date(AT), runtime.secret);
    const consenting = { ...customer, consentSms: true };
    expect(closedReason(consenting, state, "sms", ctx)).toBe("wrong_number");
    expect(closedReason(consenting, state, "rm-task", ctx)).toBe("wrong_number");
    // A new number from the bank's next export opens the channel again.
    expect(closedReason({ ...consenting, phone: "+8613900000000" }, state, "sms", ctx)).toBeUndefined();
    // And the information-governance list (000:642) shows it.
    const listed = [];
    for await (const row of uncontactable(runtime, { branch: customer.branchId })) listed.push(row);
    expect(listed.find((r) => r.customerId === t.customerId)).toMatchObject({ phone: "wrong_number" });
  });

  it("reports potential and quality customers without an RM, and RMs over the book cap", async () => {
    // The synthetic bank gives everyone an RM: two customers arrive without one.
    const arrivals = [
      { customerId: "NEW-1", aum: 20_000, branchId: "BR001" },
      { customerId: "NEW-2", aum: 500, branchId: "BR001" },
    ];
    await importRecords(
      (async function* () {
        for (const [i, value] of arrivals.entries()) yield { line: i + 1, value };
      })(),
      { config: runtime.config, write: (batch) => putCustomers(runtime.repo, batch, AT) },
    );
    const profiles: { rmId?: string; tier: string; customerId: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await runtime.repo.ddb.send(
        new ScanCommand({ TableName: runtime.repo.table, ExclusiveStartKey: start }),
      );
      for (const item of out.Items ?? [])
        if (String(item.PK).startsWith("CUST#") && item.SK === "PROFILE")
          profiles.push(item as unknown as (typeof profiles)[number]);
      start = out.LastEvaluatedKey;
    } while (start);
    const books = new Map<string, number>();
    for (const p of profiles) if (p.rmId) books.set(p.rmId, (books.get(p.rmId) ?? 0) + 1);
    const cap = Math.min(...books.values()) + 1;
    const report = await booksReport(runtime, { cap });
    expect(report.customers).toBe(profiles.length);
    expect(report.unassignedCustomers.map((u) => u.customerId).sort()).toEqual(
      profiles
        .filter((p) => !p.rmId && (p.tier === "potential" || p.tier === "quality"))
        .map((p) => p.customerId)
        .sort(),
    );
    expect(report.overCap.map((r) => r.rmId).sort()).toEqual(
      [...books]
        .filter(([, n]) => n > cap)
        .map(([rm]) => rm)
        .sort(),
    );
    expect(report.overCap.length).toBeGreaterThan(0);
    expect(report.unassignedCustomers).toEqual([
      { customerId: "NEW-1", tier: "potential", branchId: "BR001" },
    ]);
  });

  describe("roles", () => {
    let rm: [string, Task[]];
    let mate: [string, Task[]];
    let other: [string, Task[]];
    beforeAll(async () => {
      const open = await listTasksAs(deps, OPERATOR, { status: "open" });
      ({ rm, mate, other } = rmsOf(open));
      const branch = rm[1][0]!.branchId!;
      const users: NewUser[] = [
        { userId: rm[0], role: "rm", branchId: branch },
        { userId: mate[0], role: "rm", branchId: branch },
        { userId: "bm1", role: "branch_manager", branchId: branch },
        { userId: "bm9", role: "branch_manager", branchId: "BR999" },
        { userId: "ann", role: "analyst" },
      ];
      for (const u of users) tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
    });

    it("shows an RM their own open tasks, and the number to dial on their own task", async () => {
      const list = await call("GET", "/api/tasks", tokens[rm[0]]!);
      expect(list.status).toBe(200);
      const listed = list.json.tasks as { taskId: string; rmId: string }[];
      expect(listed.map((t) => t.taskId).sort()).toEqual(rm[1].map((t) => t.taskId).sort());
      const one = await call("GET", `/api/tasks/${encodeURIComponent(rm[1][0]!.taskId)}`, tokens[rm[0]]!);
      const customer = await getCustomer(runtime.repo, rm[1][0]!.customerId);
      expect((one.json.customer as { phone: string | null }).phone).toBe(customer?.phone ?? null);
    });

    // Every route an RM may call, aimed at another RM's records: each is 403 (enumerated from the router).
    const AIMED: Record<string, () => { method: string; path: string; body?: unknown }> = {
      "GET /api/tasks": () => ({ method: "GET", path: `/api/tasks?rm=${mate[0]}` }),
      "GET /api/tasks/{taskId}": () => ({
        method: "GET",
        path: `/api/tasks/${encodeURIComponent(mate[1][0]!.taskId)}`,
      }),
      "POST /api/tasks/{taskId}/complete": () => ({
        method: "POST",
        path: `/api/tasks/${encodeURIComponent(mate[1][0]!.taskId)}/complete`,
        body: { outcome: "reached" },
      }),
      "GET /api/book": () => ({ method: "GET", path: `/api/book?rm=${mate[0]}` }),
      "GET /api/customers/{customerId}/decisions": () => ({
        method: "GET",
        path: `/api/customers/${mate[1][0]!.customerId}/decisions`,
      }),
      "GET /api/performance": () => ({ method: "GET", path: `/api/performance?rm=${mate[0]}` }),
      "GET /api/indicators/{period}/{stage}": () => ({
        method: "GET",
        path: `/api/indicators/2027Q1/converted?rm=${mate[0]}`,
      }),
    };
    const SELF_ONLY = new Set(["GET /api/me"]);

    it("has a case for every route the rm role may call", () => {
      const rmRoutes = API_ROUTES.filter(
        (r) => r.roles !== "public" && (r.roles as readonly string[]).includes("rm"),
      ).map((r) => `${r.method} ${r.path}`);
      expect(rmRoutes.filter((r) => !SELF_ONLY.has(r)).sort()).toEqual(Object.keys(AIMED).sort());
    });

    it("refuses an RM every read and write of another RM's tasks and customers (403), changing nothing", async () => {
      const failures: string[] = [];
      const before = await getTask(runtime.repo, mate[1][0]!.taskId);
      for (const [name, aim] of Object.entries(AIMED)) {
        const { method, path, body } = aim();
        const res = await call(method, path, tokens[rm[0]]!, body);
        if (res.status !== 403 || res.json.error !== "other_rm")
          failures.push(`${name}: ${res.status} ${JSON.stringify(res.json)}`);
      }
      expect(failures).toEqual([]);
      expect(await getTask(runtime.repo, mate[1][0]!.taskId)).toEqual(before);
    });

    it("refuses an RM every other route of the router by role (403 forbidden), enumerated, changing nothing", async () => {
      const closed = API_ROUTES.filter(
        (r) => r.roles !== "public" && !(r.roles as readonly string[]).includes("rm"),
      );
      // The branch manager's and head office's task routes are among them.
      expect(closed.map((r) => `${r.method} ${r.path}`)).toEqual(
        expect.arrayContaining([
          "GET /api/rms",
          "POST /api/tasks/{taskId}/reassign",
          "POST /api/rms/{rmId}/handover",
          "GET /api/books",
          "GET /api/plans/{month}",
          "GET /api/uncontactable",
        ]),
      );
      const before = await getTask(runtime.repo, mate[1][0]!.taskId);
      const failures: string[] = [];
      for (const r of closed) {
        // Aimed at the other RM's records wherever the path names one.
        const path = r.path
          .replace("{taskId}", encodeURIComponent(mate[1][0]!.taskId))
          .replace("{rmId}", mate[0])
          .replace("{customerId}", mate[1][0]!.customerId)
          .replace("{month}", "2027-03")
          .replace(/\{\w+\}/g, "x");
        const res = await call(
          r.method,
          path,
          tokens[rm[0]]!,
          r.method === "GET" ? undefined : { to: rm[0] },
        );
        if (res.status !== 403 || res.json.error !== "forbidden")
          failures.push(`${r.method} ${r.path}: ${res.status} ${JSON.stringify(res.json)}`);
      }
      expect(failures).toEqual([]);
      expect(await getTask(runtime.repo, mate[1][0]!.taskId)).toEqual(before);
    });

    it("keeps the marketing surfaces closed to an RM", async () => {
      expect((await call("GET", "/api/campaigns", tokens[rm[0]]!)).status).toBe(403);
      expect((await call("GET", "/api/tasks", tokens.ann!)).status).toBe(403);
    });

    it("lets an RM complete their own task through the API, once", async () => {
      const task = rm[1][0]!;
      const path = `/api/tasks/${encodeURIComponent(task.taskId)}/complete`;
      const done = await call("POST", path, tokens[rm[0]]!, { outcome: "appointment" });
      expect(done).toMatchObject({ status: 200, json: { status: "done", outcome: "appointment" } });
      expect((await call("POST", path, tokens[rm[0]]!, { outcome: "appointment" })).status).toBe(200);
      const conflict = await call("POST", path, tokens[rm[0]]!, { outcome: "declined" });
      expect(conflict).toMatchObject({ status: 409, json: { error: "task_closed" } });
      const bad = await call("POST", path, tokens[rm[0]]!, { outcome: "maybe" });
      expect(bad.status).toBe(400);
    });

    it("shows a branch manager the branch's tasks and lets them hand one to another RM of the branch", async () => {
      const branch = rm[1][0]!.branchId!;
      const list = await call("GET", "/api/tasks?status=all", tokens.bm1!);
      const listed = list.json.tasks as { branchId: string; rmId: string }[];
      expect(listed.length).toBeGreaterThanOrEqual(rm[1].length + mate[1].length);
      expect(listed.every((t) => t.branchId === branch)).toBe(true);
      const task = rm[1][1]!;
      const path = `/api/tasks/${encodeURIComponent(task.taskId)}/reassign`;
      // Only to an RM of the branch; another branch's manager cannot touch it.
      expect((await call("POST", path, tokens.bm1!, { to: "bm9" })).status).toBe(400);
      expect((await call("POST", path, tokens.bm9!, { to: mate[0] })).json.error).toBe("other_branch");
      expect((await call("POST", path, tokens[rm[0]]!, { to: mate[0] })).status).toBe(403);
      const moved = await call("POST", path, tokens.bm1!, { to: mate[0] });
      expect(moved).toMatchObject({
        status: 200,
        json: { rmId: mate[0], handovers: [{ from: rm[0], to: mate[0], by: "bm1" }] },
      });
      const mates = (await call("GET", "/api/tasks", tokens[mate[0]]!)).json.tasks as { taskId: string }[];
      expect(mates.map((t) => t.taskId)).toContain(task.taskId);
      const mine = (await call("GET", "/api/tasks", tokens[rm[0]]!)).json.tasks as { taskId: string }[];
      expect(mine.map((t) => t.taskId)).not.toContain(task.taskId);
      void other;
    });

    it("hands every open task of a leaving RM to another RM of the branch; closed tasks keep their history", async () => {
      const before = await listTasksAs(deps, OPERATOR, { rmId: rm[0], status: "all" });
      const open = before.filter((t) => t.status === "open");
      const closed = before.filter((t) => t.status === "done");
      expect(open.length).toBeGreaterThan(0);
      expect(closed.length).toBeGreaterThan(0);
      const mateBefore = (await listTasksAs(deps, OPERATOR, { rmId: mate[0] })).length;
      // Their book: the branch's customers, and one of another branch (BR999) who must stay with them.
      const branch = rm[1][0]!.branchId!;
      const bookBefore = await bookOf(rm[0]);
      const mateBook = await bookOf(mate[0]);
      expect(bookBefore.length).toBeGreaterThan(0);
      expect(bookBefore.every((c) => c.branchId === branch)).toBe(true);
      const elsewhere = { ...bookBefore[0]!, customerId: "FAR-1", branchId: "BR999" };
      await putCustomers(runtime.repo, [elsewhere], AT);
      const moving = bookBefore.map((c) => c.customerId).sort();
      const sample = moving[0]!;
      expect((await call("GET", `/api/customers/${sample}/decisions`, tokens[rm[0]]!)).status).toBe(200);
      expect((await call("GET", `/api/customers/${sample}/decisions`, tokens[mate[0]]!)).status).toBe(403);
      // Another branch's manager moves nothing of this branch: only FAR-1 is theirs, and mate is not their RM.
      const foreign = await call("POST", `/api/rms/${rm[0]}/handover`, tokens.bm9!, { to: mate[0] });
      expect(foreign.status).toBe(400);
      expect((await bookOf(rm[0])).length).toBe(bookBefore.length + 1);

      const res = await call("POST", `/api/rms/${rm[0]}/handover`, tokens.bm1!, { to: mate[0] });
      expect(res).toMatchObject({
        status: 200,
        json: { from: rm[0], to: mate[0], moved: open.length, customers: moving.length, customersKept: 1 },
      });
      // The book moved: the old RM keeps only the other branch's customer; the new RM has theirs and these.
      expect((await bookOf(rm[0])).map((c) => c.customerId)).toEqual(["FAR-1"]);
      expect((await bookOf(mate[0])).map((c) => c.customerId).sort()).toEqual(
        [...mateBook.map((c) => c.customerId), ...moving].sort(),
      );
      const record = (await getCustomer(runtime.repo, sample))!;
      expect(record).toMatchObject({
        rmId: mate[0],
        rmHistory: [{ from: rm[0], to: mate[0], by: "bm1" }],
      });
      expect((await getCustomer(runtime.repo, "FAR-1"))!.rmId).toBe(rm[0]);
      // The new RM sees them, the old one no longer (403), in the book and customer by customer.
      expect((await call("GET", `/api/customers/${sample}/decisions`, tokens[mate[0]]!)).status).toBe(200);
      expect(await call("GET", `/api/customers/${sample}/decisions`, tokens[rm[0]]!)).toMatchObject({
        status: 403,
        json: { error: "other_rm" },
      });
      const seen = (await call("GET", "/api/book?limit=1000", tokens[mate[0]]!)).json.customers as {
        customerId: string;
      }[];
      expect(seen.map((c) => c.customerId)).toEqual(expect.arrayContaining(moving));
      const left = (await call("GET", "/api/book?limit=1000", tokens[rm[0]]!)).json.customers as unknown[];
      expect(left).toEqual([]);
      // History: one audit entry naming every customer moved, and the old RM.
      const trail = await readAudit(deps, "books", `rm.${rm[0]}`);
      expect(trail.intact).toBe(true);
      expect(trail.entries).toHaveLength(1);
      expect(trail.entries[0]).toMatchObject({
        action: "handover",
        actor: { userId: "bm1" },
        before: { rmId: rm[0] },
        after: { rmId: mate[0], customers: moving.length, customerIds: moving },
      });
      expect(await listTasksAs(deps, OPERATOR, { rmId: rm[0], status: "open" })).toEqual([]);
      const done = await listTasksAs(deps, OPERATOR, { rmId: rm[0], status: "done" });
      expect(done.map((t) => t.taskId).sort()).toEqual(closed.map((t) => t.taskId).sort());
      expect((await listTasksAs(deps, OPERATOR, { rmId: mate[0] })).length).toBe(mateBefore + open.length);
      // Nothing left to hand over: 404; an RM cannot hand over at all.
      expect((await call("POST", `/api/rms/${rm[0]}/handover`, tokens.bm1!, { to: mate[0] })).status).toBe(
        404,
      );
      expect(
        (await call("POST", `/api/rms/${mate[0]}/handover`, tokens[mate[0]]!, { to: rm[0] })).status,
      ).toBe(403);
      // The bank's next file is the truth for the RM, and the recorded handover stays on the record.
      const { rmHistory: _h, ...asFiled } = (await getCustomer(runtime.repo, sample))!;
      await upsertCustomers(runtime.repo, [{ ...asFiled, rmId: rm[0] }], { updatedAt: AT, month: "2027-03" });
      expect(await getCustomer(runtime.repo, sample)).toMatchObject({
        rmId: rm[0],
        rmHistory: [{ from: rm[0], to: mate[0], by: "bm1" }],
      });
    });
  });
});
