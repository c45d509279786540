import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { bookPage } from "#functions/customers/store.ts";
import { getReward, recordReward } from "#functions/referrals/rewards.ts";
import { getTask, type Task } from "#functions/tasks/store.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import { importStaffAs, planReportAs, runPlanAs } from "#functions/usecases/plans.ts";
import { completeTaskAs, listTasksAs } from "#functions/usecases/tasks.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { localBank, setClock } from "../integration/bank.ts";
import {
  buildConsole,
  launchChromium,
  newContext,
  newPage,
  shot as shotOf,
  signIn as signInTo,
} from "./browser.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai: the tasks are due by the day's end
const LATER = "2027-03-03T02:00:00.000Z"; // two days on: every open task of the 1st is overdue
const OPERATOR = { userId: "operator@test", role: "admin" as const };
const DRIVE = "referral-2027-spring";

/** Each language at the phone and the desktop width; the rewards and the handovers alternate per run. */
const RUNS = [
  { lang: "zh", width: 390 },
  { lang: "en", width: 1280 },
  { lang: "en", width: 390 },
  { lang: "zh", width: 1280 },
] as const;

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
let deps: UseCaseDeps;
let branch = "";
let rmA = "";
let rmB = "";
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await buildConsole();
  runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
  await startDispatch(runtime);
  await launchCampaign(
    runtime,
    readCampaignFile("examples/key-maintenance.json", runtime.config),
    new Date(AT),
  );
  await launchCampaign(
    runtime,
    readCampaignFile("examples/referral-drive.json", runtime.config),
    new Date(AT),
  );
  // The two RMs of one branch with the most open tasks.
  const open = await listTasksAs(deps, OPERATOR, { status: "open" });
  const byRm = new Map<string, Task[]>();
  for (const t of open) byRm.set(t.rmId, [...(byRm.get(t.rmId) ?? []), t]);
  const ranked = [...byRm].sort((a, b) => b[1].length - a[1].length);
  rmA = ranked[0]![0];
  branch = ranked[0]![1][0]!.branchId!;
  rmB = ranked.find(([rm, ts]) => rm !== rmA && ts[0]!.branchId === branch)?.[0] ?? "rm-relief";
  for (const [userId, role, branchId] of [
    [rmA, "rm", branch],
    [rmB, "rm", branch],
    ["bm1", "branch_manager", branch],
    ["ada", "admin", undefined],
    ["ann", "analyst", undefined],
  ] as const)
    tokens[userId] = (
      await addUser(runtime.repo, { userId, role, ...(branchId ? { branchId } : {}) }, new Date(AT))
    ).token;
  // The corporate contact plan of March for the branch: its president and corporate head, one visit done.
  await importStaffAs(
    deps,
    OPERATOR,
    (async function* () {
      yield { line: 1, value: { staffId: "P-1", role: "president", branchId: branch } };
      yield { line: 2, value: { staffId: "CH-1", role: "corp_head", branchId: branch } };
    })(),
  );
  await runPlanAs(deps, { ...OPERATOR, branchId: branch }, "2027-03");
  const visit = (await listTasksAs(deps, OPERATOR, { rmId: "P-1" }))[0];
  if (visit) await completeTaskAs(deps, OPERATOR, visit.taskId, { outcome: "reached" });
  // A due reward per run, for the admin to mark paid.
  for (const i of RUNS.keys())
    await recordReward(runtime.repo, {
      campaignId: DRIVE,
      referrerId: `REF-${i}`,
      refereeId: `NEW-${i}`,
      reward: "抽奖机会一次",
      at: AT,
    });
  setClock(runtime, LATER);
  server = await startServe(runtime, { schedulerMs: 0 });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await runtime?.stop();
});

describe.each(RUNS.map((run, i) => ({ ...run, i })))(
  "the branch manager's desk, the contact plan and the rewards at $width px in $lang",
  ({ lang, width, i }) => {
    const say = (zh: string, en: string) => (lang === "zh" ? zh : en);
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];

    const shot = (name: string) => shotOf(page, `desk-${lang}-${width}-${name}`);
    const signIn = (user: string, hash: string) =>
      signInTo(page, { url: server.url, token: tokens[user]!, lang, hash, user });

    beforeAll(async () => {
      context = await newContext(browser, { lang, width, acceptDownloads: true });
      page = await newPage(context, pageErrors);
    });
    afterAll(async () => context?.close());

    it("a branch manager sees the branch's RMs and overdue work, reassigns a task and hands over an RM's tasks", async () => {
      await signIn("bm1", "#/branch");
      await page.getByRole("heading", { name: say("本网点客户经理", "The branch's RMs") }).waitFor();
      const rms = await listTasksAs(deps, { userId: "bm1", role: "branch_manager", branchId: branch }, {});
      const ofA = rms.filter((t) => t.rmId === rmA);
      const row = page.locator("tr", { has: page.locator(`[data-rm="${rmA}"]`) });
      await row.waitFor();
      // The maintenance calls of the 1st are overdue on the 3rd; the plan's visits are due by the 31st.
      expect((await row.locator("td").allTextContents()).slice(1)).toEqual([
        String(ofA.length),
        String(ofA.filter((t) => t.dueAt < LATER).length),
      ]);
      await page.locator("li.task").first().waitFor();
      await shot("01-branch");

      // Reassign the first overdue task to the other RM.
      const card = page.locator("li.task").first();
      const taskId = String(await card.getAttribute("data-task"));
      const before = await getTask(runtime.repo, taskId);
      const target = before!.rmId === rmA ? rmB : rmA;
      await card.getByRole("combobox").selectOption(target);
      await card.getByRole("button", { name: say("转派", "Reassign") }).click();
      await page.getByRole("status").filter({ hasText: taskId }).waitFor();
      expect(await getTask(runtime.repo, taskId)).toMatchObject({
        rmId: target,
        handovers: expect.arrayContaining([
          expect.objectContaining({ from: before!.rmId, to: target, by: "bm1" }),
        ]),
      });

      // Hand over one RM's open tasks (alternating per run): asks once more, then moves them all.
      const [from, to] = i % 2 === 0 ? [rmA, rmB] : [rmB, rmA];
      const theirs = (await listTasksAs(deps, OPERATOR, { rmId: from, status: "open" })).map((t) => t.taskId);
      const closed = (await listTasksAs(deps, OPERATOR, { rmId: from, status: "done" })).map((t) => t.taskId);
      expect(theirs.length).toBeGreaterThan(0);
      await page.getByLabel(say("移交人", "From RM"), { exact: true }).selectOption(from);
      await page.getByLabel(say("接收人", "To RM"), { exact: true }).selectOption(to);
      await page.getByRole("button", { name: say("移交名下任务", "Hand over"), exact: true }).click();
      await page
        .getByText(say("确定移交全部待办任务和名下客户？", "Hand over all open tasks and the book?"))
        .waitFor();
      await shot("02-handover-confirm");
      await page.getByRole("button", { name: say("确认", "Confirm") }).click();
      await page
        .getByRole("status")
        .filter({ hasText: `${from} → ${to}` })
        .waitFor();
      for (const id of theirs) expect((await getTask(runtime.repo, id))?.rmId).toBe(to);
      // The closed ones keep who made the call.
      for (const id of closed) expect((await getTask(runtime.repo, id))?.rmId).toBe(from);
      expect(await listTasksAs(deps, OPERATOR, { rmId: from, status: "open" })).toEqual([]);
      // The book went too: none of the branch's customers is the leaving RM's any more.
      const left = (await bookPage(runtime.repo, from, undefined, 1000)).customers;
      expect(left.filter((c) => c.branchId === branch)).toEqual([]);
      await shot("03-handed-over");
      expect(pageErrors).toEqual([]);
    });

    it("the contact plan shows required, done and missing per class × role × branch, as the report counts", async () => {
      await page.getByRole("link", { name: say("对公客户走访计划", "Corporate contact plan") }).waitFor();
      await page.goto(`${server.url}/#/plans/2027-03`);
      expect(await page.getByLabel(say("月份", "Month")).inputValue()).toBe("2027-03");
      const report = await planReportAs(
        deps,
        { userId: "bm1", role: "branch_manager", branchId: branch },
        "2027-03",
      );
      expect(report.rows.length).toBeGreaterThan(0);
      await page.locator("tbody tr").first().waitFor();
      const cells = await page
        .locator("tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
        );
      expect(cells.map((c) => c.slice(2, 5))).toEqual(
        report.rows.map((r) => [r.branchId, String(r.required), String(r.done)]),
      );
      expect(cells.map((c) => Number(c[5]!.split(" ")[0]))).toEqual(report.rows.map((r) => r.missing));
      expect(report.rows.reduce((n, r) => n + r.done, 0)).toBe(1);
      await shot("04-plan");
      expect(pageErrors).toEqual([]);
    });

    it("an admin lists the rewards, exports the settlement CSV and marks one paid after confirming", async () => {
      await page.getByRole("button", { name: say("退出", "Sign out") }).click();
      await signIn("ada", "#/rewards");
      const row = page.locator("tr", { has: page.locator(`[data-referrer="REF-${i}"]`) });
      await row.waitFor();
      expect(await page.locator("tbody tr").count()).toBe(RUNS.length - i);
      await shot("05-rewards");
      const download = page.waitForEvent("download");
      await page.getByRole("button", { name: say("导出结算 CSV", "Export settlement CSV") }).click();
      const csv = readFileSync(String(await (await download).path()), "utf8");
      expect(csv.split("\n")[0]).toBe("campaignId,referrerId,refereeId,reward,at,status,paidAt,reference");
      expect(csv).toContain(`${DRIVE},REF-${i},NEW-${i}`);
      await row.getByRole("button", { name: say("标记已发放", "Mark paid") }).click();
      const confirm = row.getByRole("button", { name: say("确认", "Confirm") });
      // No reference, no payment: the confirmation waits for the settlement's reference.
      expect(await confirm.isDisabled()).toBe(true);
      await row.getByLabel(say("结算凭证号", "Settlement reference")).fill(`SETTLE-${i}`);
      await shot("06-pay-confirm");
      await confirm.click();
      await page.getByRole("status").waitFor();
      expect(await getReward(runtime.repo, DRIVE, `REF-${i}`)).toMatchObject({
        status: "paid",
        paidBy: "ada",
        reference: `SETTLE-${i}`,
      });
      // The due list no longer holds it.
      await expect.poll(() => page.locator(`[data-referrer="REF-${i}"]`).count()).toBe(0);
      expect(pageErrors).toEqual([]);
    });

    it("an analyst reads the rewards (paid ones too) but cannot pay them", async () => {
      await page.getByRole("button", { name: say("退出", "Sign out") }).click();
      await signIn("ann", "#/rewards");
      await page.getByLabel(say("状态", "Status")).selectOption("all");
      await page.locator(`[data-referrer="REF-0"]`).waitFor();
      expect(await page.getByRole("button", { name: say("标记已发放", "Mark paid") }).count()).toBe(0);
      await shot("07-rewards-analyst");
      expect(pageErrors).toEqual([]);
    });
  },
);
