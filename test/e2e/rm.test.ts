import { mkdirSync } from "node:fs";
import { join } from "node:path";
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
import { launchChromium } from "./browser.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "e2e");
const FONTS = join(ROOT, "node_modules", "@fontsource", "noto-sans-sc");
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
let rmId = "";
let token = "";

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const { build } = await import("vite");
  await build({ configFile: join(ROOT, "web", "vite.config.ts"), logLevel: "error" });
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

  async function shot(name: string) {
    await page.evaluate("(document.body.getBoundingClientRect(), document.fonts.ready).then(() => true)");
    const overflow = Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    expect(overflow, `${name} at 390 px is ${overflow} px too wide`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, `rm-${lang}-390-${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: say("zh-CN", "en-US"),
    });
    await context.addInitScript({
      content: `localStorage.setItem("tiercast.lang", ${JSON.stringify(lang)});`,
    });
    // The same CJK web font as console.test.ts, so the Chinese screenshots show Chinese.
    await context.route("**/__e2e-fonts/**", (route) =>
      route
        .fulfill({ path: join(FONTS, new URL(route.request().url()).pathname.replace("/__e2e-fonts/", "")) })
        .catch(() => route.abort()),
    );
    await context.addInitScript({
      content: `document.addEventListener("DOMContentLoaded", () => {
        document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/__e2e-fonts/400.css" }));
      });`,
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => pageErrors.push(e.stack ?? e.message));
  });
  afterAll(async () => context?.close());

  it("lists the RM's own tasks and records a call's outcome", async () => {
    await page.goto(`${server.url}/#/tasks`);
    await page.getByLabel(say("访问令牌", "Access token")).fill(token);
    await page.keyboard.press("Enter");
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
