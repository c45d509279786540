import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { createTask, recordOutcome, type Task } from "#functions/tasks/store.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { parseConfig } from "#platform/config.ts";
import { cli, tempDir } from "../helpers.ts";
import { apiCaller } from "./http.ts";

// 10:00 Asia/Shanghai on 2027-03-10: tasks due on the 1st–9th are overdue, the 10th's are today's.
const NOW = "2027-03-10T02:00:00.000Z";
const RM = "rm-many";
const BRANCH = "BR001";
const TOTAL = 230;
const DONE = 40;

/** Task i is due at the end of day 1 + (i mod 20) of March (bank time), so dates repeat and interleave. */
function taskOf(i: number): Task {
  const day = 1 + (i % 20);
  return {
    taskId: `paging-2027-03.C${String(i).padStart(4, "0")}`,
    rmId: RM,
    customerId: `C${String(i).padStart(4, "0")}`,
    campaignId: "paging-2027-03",
    branchId: BRANCH,
    status: "open",
    dueAt: new Date(Date.parse(`2027-03-${String(day).padStart(2, "0")}T23:59:59.999+08:00`)).toISOString(),
    priority: "normal",
    context: { tier: "key" },
    attempts: 0,
    createdAt: "2027-03-01T02:00:00.000Z",
  };
}

let runtime: Runtime;
let server: LocalServer;
let dataDir: string;
let token = "";
let mateToken = "";
const expected = Array.from({ length: TOTAL }, (_, i) => taskOf(i));
const closed = new Set(expected.slice(0, DONE).map((t) => t.taskId));
const call = apiCaller(() => server.url);

describe("tasks a page at a time, for an RM with many tasks (API cursor and CLI)", () => {
  beforeAll(async () => {
    dataDir = join(tempDir("rmdesk-paging-"), "data");
    runtime = await startRuntime({ config: parseConfig({}), at: new Date(NOW), dataDir });
    runtime.clock.set(NOW);
    for (const t of expected) await createTask(runtime.repo, t, runtime.config.shards);
    for (const t of expected.slice(0, DONE))
      await recordOutcome(
        runtime.repo,
        t,
        { outcome: "reached", by: RM, at: "2027-03-05T02:00:00.000Z" },
        runtime.config.shards,
      );
    token = (await addUser(runtime.repo, { userId: RM, role: "rm", branchId: BRANCH }, new Date(NOW))).token;
    mateToken = (
      await addUser(runtime.repo, { userId: "rm-mate", role: "rm", branchId: BRANCH }, new Date(NOW))
    ).token;
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  async function walk(query: string, as = token) {
    const ids: string[] = [];
    const dues: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(
        "GET",
        `/api/tasks?${query}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        as,
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const tasks = res.json.tasks as { taskId: string; dueAt: string; status: string }[];
      expect(tasks.length).toBeLessThanOrEqual(50);
      ids.push(...tasks.map((t) => t.taskId));
      dues.push(...tasks.map((t) => `${t.status}#${t.dueAt}`));
      cursor = res.json.next as string | null;
      pages++;
    } while (cursor && pages < 20);
    return { ids, dues, pages };
  }

  it("walks every open task exactly once, due first, 50 at a time", async () => {
    const { ids, dues, pages } = await walk("status=open");
    const open = expected.filter((t) => !closed.has(t.taskId)).map((t) => t.taskId);
    expect(ids.length).toBe(open.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...open].sort());
    expect(dues).toEqual([...dues].sort());
    expect(pages).toBe(Math.ceil(open.length / 50));
  });

  it("walks open and done (status=all), and the done alone", async () => {
    expect((await walk("status=all")).ids.length).toBe(TOTAL);
    const done = await walk("status=done");
    expect([...done.ids].sort()).toEqual([...closed].sort());
  });

  it("narrows to the overdue (open, past due) and to those due by a day", async () => {
    const overdue = await walk("overdue=true");
    const late = expected.filter((t) => !closed.has(t.taskId) && t.dueAt < NOW).map((t) => t.taskId);
    expect(late.length).toBeGreaterThan(0);
    expect([...overdue.ids].sort()).toEqual([...late].sort());
    const byFifth = await walk("status=all&due=2027-03-05");
    const dueBy = expected.filter((t) => t.dueAt <= "2027-03-05T15:59:59.999Z").map((t) => t.taskId);
    expect([...byFifth.ids].sort()).toEqual([...dueBy].sort());
  });

  it("refuses a bad cursor, limit, due or overdue with a clear 400, and another RM's list with 403", async () => {
    for (const q of [
      "cursor=garbage",
      "limit=0",
      "limit=5000",
      "due=2027-02-30",
      "due=tomorrow",
      "overdue=yes",
    ]) {
      const res = await call("GET", `/api/tasks?${q}`, token);
      expect(res.status, q).toBe(400);
      expect(res.json.error).toBe("bad_input");
    }
    const other = await call("GET", `/api/tasks?rm=${RM}&limit=10`, mateToken);
    expect(other).toMatchObject({ status: 403, json: { error: "other_rm" } });
    expect(((await call("GET", "/api/tasks?limit=10", mateToken)).json.tasks as unknown[]).length).toBe(0);
  });

  it("pages on the CLI with --limit/--cursor, filters with --due/--overdue, and lists all without --limit", async () => {
    await server.stop();
    await runtime.stop();
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await cli(
        ["tasks", "list", "--rm", RM, "--limit", "100", ...(cursor ? ["--cursor", cursor] : []), "--json"],
        { dataDir },
      );
      expect(res.code, res.stderr).toBe(0);
      const page = res.json() as { tasks: { taskId: string }[]; next: string | null };
      ids.push(...page.tasks.map((t) => t.taskId));
      cursor = page.next;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(2);
    expect(new Set(ids).size).toBe(TOTAL - DONE);
    const all = await cli(["tasks", "list", "--status", "all", "--json"], { dataDir });
    const listed = all.json() as { tasks: unknown[]; next?: unknown };
    expect(listed.tasks.length).toBe(TOTAL);
    expect("next" in listed).toBe(false);
    const overdue = await cli(["tasks", "list", "--overdue", "--json", "--at", NOW], { dataDir });
    expect(overdue.code, overdue.stderr).toBe(0);
    expect((overdue.json() as { tasks: unknown[] }).tasks.length).toBe(
      expected.filter((t) => !closed.has(t.taskId) && t.dueAt < NOW).length,
    );
    const bad = await cli(["tasks", "list", "--due", "2027-13-01", "--json"], { dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/due/);
    const badCursor = await cli(["tasks", "list", "--cursor", "nope", "--json"], { dataDir });
    expect(badCursor.code).toBe(2);
    expect(badCursor.stderr).toMatch(/cursor/);
  }, 120_000);
});
