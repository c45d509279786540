import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { getTask } from "#functions/tasks/store.ts";
import { listTasksAs } from "#functions/usecases/tasks.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { localBank, setClock } from "../integration/bank.ts";
import { buildConsole, launchChromium, newContext, newPage, shot as shotOf, signIn } from "./browser.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
let rmId = "";
let token = "";

beforeAll(async () => {
  await buildConsole();
  runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  await startDispatch(runtime);
  await launchCampaign(
    runtime,
    readCampaignFile("examples/key-maintenance.json", runtime.config),
    new Date(AT),
  );
  const deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
  const open = await listTasksAs(deps, { userId: "op", role: "admin" }, {});
  rmId = open[0]!.rmId;
  token = (
    await addUser(runtime.repo, { userId: rmId, role: "rm", branchId: open[0]!.branchId }, new Date(AT))
  ).token;
  server = await startServe(runtime, { schedulerMs: 0 });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await runtime?.stop();
});

describe.each([
  { lang: "zh", outcome: "reached" },
  { lang: "en", outcome: "no_answer" },
] as const)("the RM's workbench on a phone (390 px) in $lang", ({ lang, outcome }) => {
  const say = (zh: string, en: string) => (lang === "zh" ? zh : en);
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const shot = (name: string) => shotOf(page, `rm-${lang}-390-${name}`);

  beforeAll(async () => {
    context = await newContext(browser, { lang, width: 390, height: 844 });
    page = await newPage(context, pageErrors);
  });
  afterAll(async () => context?.close());

  it("lists the RM's own tasks and records a call's outcome", async () => {
    await signIn(page, { url: server.url, token, lang, hash: "#/tasks" });
    await page.getByRole("heading", { name: say("我的任务", "Tasks") }).waitFor();
    const cards = page.locator("li.task");
    await cards.first().waitFor();
    expect(await page.getByRole("link", { name: say("活动", "Campaigns"), exact: true }).count()).toBe(0);
    await shot("01-tasks");
    const taskId = String(await cards.first().getAttribute("data-task"));
    await cards.first().getByRole("link").click();
    await page.getByRole("link", { name: new RegExp(say("拨打", "Call")) }).waitFor();
    await page.getByLabel(say("通话结果", "Outcome")).selectOption(outcome);
    await page.getByLabel(say("备注", "Note")).fill(say("下周再约", "call back next week"));
    await page.getByRole("button", { name: say("记录结果", "Record outcome") }).click();
    await page.getByRole("status").waitFor();
    await shot("02-task-recorded");
    const stored = await getTask(runtime.repo, taskId);
    expect(stored).toMatchObject(
      outcome === "no_answer" ? { status: "open", attempts: 1 } : { status: "done", outcome, closedBy: rmId },
    );
    expect(pageErrors).toEqual([]);
  });
});
