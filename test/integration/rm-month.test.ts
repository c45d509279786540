import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { keyNotContacted } from "#functions/customers/reports.ts";
import { bookPage } from "#functions/customers/store.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import type { Task, TaskOutcome } from "#functions/tasks/store.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import { completeTaskAs, handoverAs, listTasksAs } from "#functions/usecases/tasks.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign, tick } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const DAILY = 4;
const day = (d: number) => `2027-03-${String(d).padStart(2, "0")}T02:00:00.000Z`; // 10:00 Shanghai
const OPERATOR = { userId: "operator@test", role: "admin" as const };
const CAMPAIGN = "key-care-2027-03";
let runtime: Runtime;
let deps: UseCaseDeps;

/**
 * A month of key-tier maintenance (issue 18): tasks within each RM's daily capacity, released day by
 * day; RMs call, a no-answer is retried, an RM leaves and hands over; the key report and the funnel
 * count exactly the calls made.
 */
describe("an RM month", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"), { rm: { dailyTasksPerRm: DAILY } });
    setClock(runtime, day(1));
    await startDispatch(runtime);
    deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("walks March: capacity, calls, a retry, a handover, the key report and the funnel", async () => {
    await launchCampaign(
      runtime,
      readCampaignFile("examples/key-maintenance.json", runtime.config),
      new Date(day(1)),
    );
    const rows = (await ledgerRows(runtime, CAMPAIGN)).filter((r) => r.channel === "rm-task");
    const rms = [...new Set(rows.map((r) => r.rmId!))].sort();
    const byRm = (rm: string) => rows.filter((r) => r.rmId === rm).length;
    // Day 1: each RM has at most DAILY tasks; the rest wait for their days.
    let open = await listTasksAs(deps, OPERATOR, { status: "open" });
    for (const rm of rms) expect(open.filter((t) => t.rmId === rm)).toHaveLength(Math.min(DAILY, byRm(rm)));

    const outcomes: Record<string, TaskOutcome> = {};
    const closedContacts = new Set<string>();
    const converted = new Set<string>();
    const call = async (task: Task, outcome: TaskOutcome) => {
      await completeTaskAs(deps, OPERATOR, task.taskId, { outcome });
      outcomes[task.taskId] = outcome;
      if (outcome !== "no_answer" && outcome !== "wrong_number") closedContacts.add(task.customerId);
      if (outcome === "reached" || outcome === "appointment" || outcome === "interested")
        converted.add(task.customerId);
    };
    const pattern: TaskOutcome[] = ["reached", "no_answer", "declined", "interested", "wrong_number"];
    // Days 1–3: each morning the due tasks are released, and RMs call every open task once.
    const retried: Task[] = [];
    for (let d = 1; d <= 3; d++) {
      setClock(runtime, day(d));
      if (d > 1) await tick(runtime);
      open = await listTasksAs(deps, OPERATOR, { status: "open" });
      for (const rm of rms) {
        const dueToday = open.filter((t) => t.rmId === rm && t.dueAt.startsWith(`2027-03-0${d}`));
        expect(dueToday.length).toBeLessThanOrEqual(DAILY);
      }
      for (const [i, task] of open.entries()) {
        if (task.attempts > 0) {
          // Yesterday's no-answer, called again: this time they pick up.
          await call(task, "appointment");
          retried.push(task);
          continue;
        }
        await call(task, pattern[i % pattern.length]!);
      }
    }
    expect(retried.length).toBeGreaterThan(0);
    for (const task of retried) {
      const [done] = (await listTasksAs(deps, OPERATOR, { rmId: task.rmId, status: "done" })).filter(
        (t) => t.taskId === task.taskId,
      );
      expect(done).toMatchObject({ status: "done", outcome: "appointment", attempts: 2 });
    }

    // Day 4: the first RM leaves; their tasks released today go to a colleague of the branch.
    setClock(runtime, day(4));
    await tick(runtime);
    const leaving = rms[0]!;
    const branch = rows.find((r) => r.rmId === leaving)!.branchId!;
    await addUser(runtime.repo, { userId: "RM-NEW", role: "rm", branchId: branch }, new Date(day(4)));
    const theirs = await listTasksAs(deps, OPERATOR, { rmId: leaving, status: "open" });
    expect(theirs.length).toBeGreaterThan(0);
    const bookBefore = (await bookPage(runtime.repo, leaving, undefined, 1000)).customers;
    const ofBranch = bookBefore.filter((c) => c.branchId === branch).length;
    expect(ofBranch).toBeGreaterThan(0);
    const handover = await handoverAs(deps, OPERATOR, leaving, "RM-NEW");
    expect(handover.moved).toBe(theirs.length);
    // The book moves with the tasks: the branch's customers are RM-NEW's now.
    expect(handover.customers).toBe(ofBranch);
    const after = (await bookPage(runtime.repo, leaving, undefined, 1000)).customers;
    expect(after.length).toBe(bookBefore.length - ofBranch);
    expect((await bookPage(runtime.repo, "RM-NEW", undefined, 1000)).customers).toHaveLength(ofBranch);
    expect(await listTasksAs(deps, OPERATOR, { rmId: leaving, status: "open" })).toEqual([]);
    const closedOfLeaving = await listTasksAs(deps, OPERATOR, { rmId: leaving, status: "done" });
    expect(closedOfLeaving.length).toBeGreaterThan(0);

    // The key report counts exactly the key customers whose call was made (SMS fallbacks sent count too).
    const keyRows = (await ledgerRows(runtime, CAMPAIGN)).filter((r) => r.tier === "key");
    const smsContacted = new Set(
      keyRows.filter((r) => r.channel === "sms" && r.decision === "sent").map((r) => r.customerId),
    );
    const keyCustomers = new Set(keyRows.map((r) => r.customerId));
    const expected = new Set([...closedContacts, ...smsContacted].filter((c) => keyCustomers.has(c)));
    const report = await keyNotContacted(runtime, "2027-03");
    expect(report.contacted).toBe(expected.size);

    // The funnel converts exactly the completed contacts (no simulated events ran).
    const funnel = await readFunnel(runtime.repo, CAMPAIGN);
    expect(funnel.total.converted).toBe(converted.size);
    expect(Object.values(outcomes).filter((o) => o === "no_answer").length).toBeGreaterThan(0);
  }, 240_000);
});
