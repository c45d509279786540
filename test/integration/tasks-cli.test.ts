import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const AT = ["--at", "2027-03-01T02:00:00Z"];

interface Listed {
  tasks: {
    taskId: string;
    rmId: string;
    customerId: string;
    campaignId: string;
    status: string;
    dueAt: string;
    attempts: number;
    outcome?: string;
  }[];
}

describe("tiercast tasks (CONTRACT.md: RM tasks)", () => {
  it("lists the tasks a launch made, records outcomes once, and the key report counts only closed contacts", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    expect((await cli(["generate", "--customers", "800", "--out", bank, ...AT])).code).toBe(0);
    expect((await cli(["import", bank, "--json", ...AT], { dataDir })).code).toBe(0);
    const launch = await cli(["launch", "examples/key-maintenance.json", "--json", ...AT], { dataDir });
    expect(launch.code, launch.stderr).toBe(0);
    const report = async () =>
      ((await cli(["key-report", "--json", ...AT], { dataDir })).json() as { contacted: number }).contacted;
    const contactedBefore = await report();

    const list = await cli(["tasks", "list", "--json", ...AT], { dataDir });
    expect(list.code, list.stderr).toBe(0);
    const { tasks } = list.json() as Listed;
    expect(tasks.length).toBeGreaterThan(1);
    for (const t of tasks) {
      expect(t).toMatchObject({ campaignId: "key-care-2027-03", status: "open", attempts: 0 });
      expect(t.outcome).toBeUndefined();
    }
    const [first, second] = tasks as [Listed["tasks"][0], Listed["tasks"][0]];
    const byRm = (
      await cli(["tasks", "list", "--rm", first.rmId, "--json", ...AT], { dataDir })
    ).json() as Listed;
    expect(byRm.tasks.every((t) => t.rmId === first.rmId)).toBe(true);
    expect(byRm.tasks.map((t) => t.taskId)).toContain(first.taskId);

    const complete = (id: string, outcome: string) =>
      cli(["tasks", "complete", id, "--outcome", outcome, "--note", "客户在外地", "--json", ...AT], {
        dataDir,
      });
    const done = await complete(first.taskId, "reached");
    expect(done.code, done.stderr).toBe(0);
    expect(done.json()).toEqual({ taskId: first.taskId, status: "done", outcome: "reached" });
    expect(done.stderr).not.toContain("客户在外地");
    const again = await complete(first.taskId, "reached");
    expect(again.code).toBe(0);
    expect(again.json()).toEqual({ taskId: first.taskId, status: "done", outcome: "reached" });
    const refused = await complete(first.taskId, "declined");
    expect(refused.code).toBe(1);
    expect(refused.json()).toMatchObject({ error: "task_closed" });

    const attempt = await complete(second.taskId, "no_answer");
    expect(attempt.json()).toEqual({ taskId: second.taskId, status: "open", outcome: "no_answer" });
    expect(await report()).toBe(contactedBefore + 1);

    const closed = (
      await cli(["tasks", "list", "--status", "done", "--json", ...AT], { dataDir })
    ).json() as Listed;
    expect(closed.tasks).toEqual([
      expect.objectContaining({ taskId: first.taskId, outcome: "reached", attempts: 1 }),
    ]);
    const open = (await cli(["tasks", "list", "--json", ...AT], { dataDir })).json() as Listed;
    expect(open.tasks.find((t) => t.taskId === second.taskId)).toMatchObject({ status: "open", attempts: 1 });
    expect(open.tasks).toHaveLength(tasks.length - 1);

    const funnel = (await cli(["funnel", "key-care-2027-03", "--json"], { dataDir })).json() as {
      byChannel?: Record<string, { converted: number }>;
      total: { converted: number };
    };
    expect(funnel.total.converted).toBe(1);

    // The RM of the second task leaves: a colleague of the branch takes their open tasks.
    const branch = (open.tasks.find((t) => t.taskId === second.taskId) as { branchId?: string }).branchId!;
    const added = await cli(["users", "add", "RM-NEW", "--role", "rm", "--branch", branch, ...AT], {
      dataDir,
    });
    expect(added.code, added.stderr).toBe(0);
    const handover = await cli(
      ["tasks", "handover", "--from", second.rmId, "--to", "RM-NEW", "--json", ...AT],
      { dataDir },
    );
    expect(handover.code, handover.stderr).toBe(0);
    const movedCount = open.tasks.filter((t) => t.rmId === second.rmId).length;
    expect(handover.json()).toMatchObject({ from: second.rmId, to: "RM-NEW", moved: movedCount });
    const taken = (
      await cli(["tasks", "list", "--rm", "RM-NEW", "--json", ...AT], { dataDir })
    ).json() as Listed;
    expect(taken.tasks).toHaveLength(movedCount);

    expect(
      (await cli(["tasks", "complete", first.taskId, "--outcome", "maybe", "--json"], { dataDir })).code,
    ).toBe(2);
    expect(
      (await cli(["tasks", "complete", "no.such", "--outcome", "reached", "--json"], { dataDir })).code,
    ).toBe(1);
    expect((await cli(["tasks", "list", "--status", "later", "--json"], { dataDir })).code).toBe(2);
  }, 240_000);
});
