import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { pagesOf, shardTasks } from "#functions/campaign/segment.ts";
import type { Customer } from "#functions/customers/record.ts";
import { PLAN_RULES } from "#functions/plans/core.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import { importStaffAs, planReportAs, runPlanAs } from "#functions/usecases/plans.ts";
import { completeTaskAs, listTasksAs } from "#functions/usecases/tasks.ts";
import type { Runtime } from "#local/runtime.ts";
import { startServe } from "#local/serve.ts";
import { localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z";
const OPERATOR = { userId: "operator@test", role: "admin" as const };
let runtime: Runtime;
let deps: UseCaseDeps;
let corporates: Customer[] = [];

const need = (tier: string, group: string) =>
  PLAN_RULES.filter((r) => r.group === group && (r.classes as readonly string[]).includes(tier)).reduce(
    (n, r) => n + r.perMonth,
    0,
  );

describe("corporate contact plan (000:547)", () => {
  beforeAll(async () => {
    runtime = await localBank(3_000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
    for (const task of shardTasks(["class1", "class2", "class3"], runtime.config.shards))
      for await (const page of pagesOf(runtime.repo, "corporate", task, 1000)) corporates.push(...page);
    corporates = corporates.filter((c) => c.branchId === "BR001");
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("makes each required visit a task for the named person, once, and reports required, done and missing", async () => {
    expect(corporates.length).toBeGreaterThan(0);
    // BR001 has a president, a corporate head and an outlet head; no VP, no deputy.
    const staff = [
      { staffId: "P-1", role: "president", branchId: "BR001" },
      { staffId: "CH-1", role: "corp_head", branchId: "BR001" },
      { staffId: "OH-1", role: "outlet_head", branchId: "BR001" },
      { staffId: "bad", role: "janitor", branchId: "BR001" },
    ];
    const imported = await importStaffAs(
      deps,
      OPERATOR,
      (async function* () {
        for (const [i, value] of staff.entries()) yield { line: i + 1, value };
      })(),
    );
    expect(imported).toMatchObject({ imported: 3, rejected: [{ line: 4 }] });

    const run = await runPlanAs({ ...deps }, { ...OPERATOR, branchId: "BR001" }, "2027-03");
    const expectedTasks = corporates.reduce(
      (n, c) =>
        n +
        PLAN_RULES.reduce(
          (m, r) => m + ((r.classes as readonly string[]).includes(c.tier) ? r.perMonth : 0),
          0,
        ),
      0,
    );
    expect(run).toMatchObject({
      customers: corporates.length,
      created: expectedTasks,
      existing: 0,
      unassigned: 0,
    });
    expect(await runPlanAs(deps, { ...OPERATOR, branchId: "BR001" }, "2027-03")).toMatchObject({
      created: 0,
      existing: expectedTasks,
    });

    // The president's visits: one per class-1/2 customer.
    const president = await listTasksAs(deps, OPERATOR, { rmId: "P-1" });
    expect(president).toHaveLength(
      corporates.filter((c) => c.tier === "class1" || c.tier === "class2").length,
    );
    expect(president.every((t) => t.dueAt.startsWith("2027-03-31"))).toBe(true);

    // The outlet head makes two of their visits and a third call gets no answer.
    const outlet = await listTasksAs(deps, OPERATOR, { rmId: "OH-1" });
    expect(outlet.length).toBeGreaterThan(1);
    await completeTaskAs(deps, OPERATOR, outlet[0]!.taskId, { outcome: "reached" });
    await completeTaskAs(deps, OPERATOR, outlet[1]!.taskId, { outcome: "appointment" });
    if (outlet[2]) await completeTaskAs(deps, OPERATOR, outlet[2].taskId, { outcome: "no_answer" });

    const report = await planReportAs(deps, OPERATOR, "2027-03", "BR001");
    for (const row of report.rows) {
      const customers = corporates.filter((c) => c.tier === row.class).length;
      expect(row.required, `${row.class} ${row.role}`).toBe(customers * need(row.class, row.role));
      expect(row.missing).toBe(row.required - row.done);
      // BR001 has no deputy but an outlet head, a president but no VP: every visit has a person.
      expect(row.unassigned).toBe(0);
    }
    const done = report.rows.filter((r) => r.role === "outlet_head").reduce((n, r) => n + r.done, 0);
    expect(done).toBe(2);
    expect(report.rows.filter((r) => r.role !== "outlet_head").every((r) => r.done === 0)).toBe(true);

    // The branch manager reads the same report through the API; another branch's is refused.
    const bm = (
      await addUser(runtime.repo, { userId: "bm1", role: "branch_manager", branchId: "BR001" }, new Date(AT))
    ).token;
    const server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    try {
      const get = (path: string) =>
        fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${bm}` } });
      const res = await get("/api/plans/2027-03");
      expect(res.status).toBe(200);
      expect(((await res.json()) as { rows: unknown[] }).rows).toEqual(report.rows);
      expect((await get("/api/plans/2027-03?branch=BR002")).status).toBe(403);
      expect((await get("/api/plans/2027-13")).status).toBe(400);
    } finally {
      await server.stop();
    }
  });

  it("counts a required visit with nobody in the role at the branch as unassigned, not dropped", async () => {
    const br2: Customer[] = [];
    for (const task of shardTasks(["class1", "class2", "class3"], runtime.config.shards))
      for await (const page of pagesOf(runtime.repo, "corporate", task, 1000))
        br2.push(...page.filter((c) => c.branchId === "BR002"));
    const run = await runPlanAs(deps, { ...OPERATOR, branchId: "BR002" }, "2027-03");
    const nonRm = br2.reduce(
      (n, c) =>
        n +
        PLAN_RULES.filter((r) => r.group !== "rm").reduce(
          (m, r) => m + ((r.classes as readonly string[]).includes(c.tier) ? r.perMonth : 0),
          0,
        ),
      0,
    );
    expect(run.unassigned).toBe(nonRm);
    expect(run.created).toBe(br2.length * 3);
  });
});
