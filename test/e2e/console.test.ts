import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { tick } from "../../cli/launch.ts";
import { localBank, setClock } from "../integration/bank.ts";
import {
  buildConsole,
  launchChromium,
  newContext,
  newPage,
  SHOTS,
  shot as shotOf,
  signIn,
} from "./browser.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
/** The evening a marketer builds and launches at: inside quiet hours (22:00–08:00), so every send waits. */
const EVENING = "2027-03-01T14:20:00.000Z"; // 22:20 Asia/Shanghai
const DAY = 86_400_000;
/** Waits on the page with room for a loaded machine (the dry runs behind a review take seconds there). */
const poll = <T>(fn: () => Promise<T> | T, options: { timeout?: number; interval?: number } = {}) =>
  expect.poll(fn, { timeout: 30_000, interval: 200, ...options });

/** The journey runs in each language at the desktop and the phone width. */
const RUNS = [
  { lang: "zh", width: 1280 },
  { lang: "en", width: 390 },
  { lang: "en", width: 1280 },
  { lang: "zh", width: 390 },
] as const;

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await buildConsole();
  runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  await startDispatch(runtime);
  server = await startServe(runtime, { schedulerMs: 0 });
  for (const [userId, role] of [
    ["mia", "marketer"],
    ["ari", "approver"],
    ["ann", "analyst"],
  ] as const)
    tokens[userId] = (await addUser(runtime.repo, { userId, role }, new Date(AT))).token;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await runtime?.stop();
});

describe.each(RUNS.map((run, day) => ({ ...run, day })))(
  "web console at $width px in $lang: create → preview at 22:20 → submit → approve (samples, diff) → launch → funnel → export",
  ({ lang, width, day }) => {
    const say = (zh: string, en: string) => (lang === "zh" ? zh : en);
    const id = `web-${lang}-${width}`;
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];

    /** A screenshot, once nothing pushes the page wider than the window (a wide table scrolls inside itself). */
    const shot = (name: string) => shotOf(page, `${lang}-${width}-${name}`);

    /** Signs in with the keyboard only: Tab to the token field, type, Enter. */
    const signInAs = (user: string) =>
      signIn(page, { url: server.url, token: tokens[user]!, lang, user, keyboard: true });

    beforeAll(async () => {
      // Two days per run (a launch at 22:20 sends the next morning): the per-channel daily cap would
      // otherwise exclude the earlier runs' recipients.
      setClock(runtime, new Date(Date.parse(EVENING) + 2 * day * DAY).toISOString());
      // The console's language is the user's choice, kept in localStorage; seeded once per context.
      context = await newContext(browser, { lang, width, langOnce: true });
      page = await newPage(context, pageErrors);
    });
    afterAll(async () => {
      await context?.close();
    });

    it("a marketer builds a campaign at 22:20: the preview says the sends wait for the morning", async () => {
      await signInAs("mia");
      await shot("01-campaigns");
      await page.getByRole("link", { name: say("新建活动", "New campaign") }).click();
      await page.getByLabel(say("活动编号", "Campaign ID")).fill(id);
      await page.getByLabel(say("名称", "Name"), { exact: true }).fill(`Web journey ${lang} ${width}`);
      // The segment's tiers and the variant's are both checkboxes of the scheme's tiers.
      const quality = { name: say("优质", "quality"), exact: true };
      await page
        .getByRole("group", { name: say("层级", "Tiers"), exact: true })
        .getByRole("checkbox", quality)
        .check();
      await page
        .getByRole("group", { name: say("版本组 A 层级", "Variant A Tiers") })
        .getByRole("checkbox", quality)
        .check();
      const audience = page.getByTestId("preview-audience");
      await poll(async () => (await audience.textContent()) ?? "").toMatch(
        new RegExp(`${say("目标人数", "Audience")} [1-9]`),
      );
      // At 22:20 nobody is reachable now; the preview counts the deferred sends and says when they go.
      expect(await audience.textContent()).toMatch(
        new RegExp(`${say("可触达", "Eligible")} 0 · ${say("延后发送", "Deferred")} [1-9]`),
      );
      const deferred = (await page.getByTestId("preview-deferred").textContent()) ?? "";
      expect(deferred).toMatch(/[1-9]/);
      expect(deferred).toContain(say("08:00", "08:00"));
      // Head counts never sit under a percentage's heading ("对照组 %" is the form's input, not a count).
      const heads = await page.locator(".preview th").allTextContents();
      expect(heads.filter((h) => h.includes("%"))).toEqual([]);
      expect(heads).toContain(say("对照组人数", "Holdout"));
      await poll(() => page.locator(".sample").count()).toBeGreaterThan(0);
      // Codes reach the reader in the chosen language: a tier and an exclusion reason.
      await page
        .getByRole("cell", { name: say("潜力", "potential"), exact: true })
        .first()
        .waitFor();
      await page
        .getByRole("cell", { name: say("未授权营销", "no marketing consent"), exact: true })
        .first()
        .waitFor();
      await shot("02-builder-preview");
      await page.getByRole("button", { name: say("保存草稿", "Save draft") }).click();
      await page.getByRole("button", { name: say("提交审批", "Submit") }).click();
      await page
        .locator(".status", { hasText: say("待审批", "submitted") })
        .first()
        .waitFor();
      await shot("03-submitted");
    });

    it("the approver reviews samples, counts and cost, approves; after an edit, sees the diff", async () => {
      await page.goto(`${server.url}/#/approvals`);
      const review = page.getByRole("article", { name: new RegExp(id) });
      await review.waitFor();
      expect(await page.getByRole("button", { name: say("批准", "Approve") }).count()).toBe(0);
      await signInAs("ari");
      await page.goto(`${server.url}/#/approvals`);
      // Everything to decide on: rendered samples per variant, counts per tier and reason, cost.
      await review.getByText(say("首次审批", "First approval")).waitFor();
      await poll(() => review.locator(".sample[data-variant=A]").count()).toBeGreaterThan(0);
      expect(await review.locator(".sample[data-variant=A] p").first().textContent()).toContain("您好");
      await review
        .getByRole("cell", { name: say("未授权营销", "no marketing consent"), exact: true })
        .first()
        .waitFor();
      expect(await review.getByTestId("preview-cost").textContent()).toMatch(/¥\d+\.\d\d/);
      await review.getByTestId("preview-deferred").waitFor();
      await shot("04a-review");
      // Reject asks why and sends nothing without a reason; backing out leaves the campaign as it was.
      await page.getByRole("button", { name: `${say("驳回", "Reject")} ${id}` }).click();
      const confirm = page.getByRole("button", { name: say("确认", "Confirm"), exact: true });
      expect(await confirm.isDisabled()).toBe(true);
      await page.getByLabel(say("驳回原因", "Reason for rejecting")).fill("文案待修改");
      expect(await confirm.isEnabled()).toBe(true);
      await page.getByRole("button", { name: say("返回", "Back"), exact: true }).click();
      // Approve asks once more before it takes effect.
      await page.getByRole("button", { name: `${say("批准", "Approve")} ${id}` }).click();
      await page.getByText(say("确定批准", "Approve this version")).waitFor();
      await confirm.click();
      await page.getByText(say("没有待审批的活动", "Nothing waiting for approval")).waitFor();

      // The marketer edits the approved text (approval dropped) and submits again.
      await signInAs("mia");
      await page.goto(`${server.url}/#/edit/${id}`);
      // The stored definition has loaded (the form starts from a blank one) before anything is typed.
      await poll(() => page.getByLabel(say("活动编号", "Campaign ID")).inputValue()).toBe(id);
      const template = page.getByLabel(say("模板", "Template"));
      await template.fill("{{name|客户}}您好，春季专属礼遇已为您预留。");
      await page.getByRole("button", { name: say("保存草稿", "Save draft") }).click();
      await page.getByRole("button", { name: say("提交审批", "Submit") }).click();
      await page
        .locator(".status", { hasText: say("待审批", "submitted") })
        .first()
        .waitFor();

      // The approver sees exactly what changed since the version they approved.
      await signInAs("ari");
      await page.goto(`${server.url}/#/approvals`);
      const changes = review.getByTestId("changes");
      await changes.getByText("variants[A].template").waitFor();
      expect(await changes.locator("ins").first().textContent()).toContain("春季专属礼遇");
      expect(await changes.textContent()).toContain("v1");
      await poll(() => review.locator(".sample[data-variant=A] p").first().textContent()).toContain(
        "春季专属礼遇",
      );
      await shot("04b-review-diff");
      await page.getByRole("button", { name: `${say("批准", "Approve")} ${id}` }).click();
      await confirm.click();
      await page.getByText(say("没有待审批的活动", "Nothing waiting for approval")).waitFor();
      await shot("04-approved");
    });

    it("the marketer launches at 22:20: the page says the sends are deferred; tick sends them at 08:30", async () => {
      await signInAs("mia");
      await page.goto(`${server.url}/#/campaign/${id}`);
      await page.getByRole("button", { name: say("发布", "Launch"), exact: true }).click();
      await page.getByText(say("确定发布", "Launch now?")).waitFor();
      await shot("05a-confirm-launch");
      await page.getByRole("button", { name: say("确认", "Confirm"), exact: true }).click();
      // The launch runs on after the request returns: wait for the campaign itself to say launched.
      const status = async () => {
        const res = await fetch(`${server.url}/api/campaigns/${id}`, {
          headers: { authorization: `Bearer ${tokens.mia}` },
        });
        return ((await res.json()) as { status?: string }).status;
      };
      await poll(status, { timeout: 120_000, interval: 250 }).toBe("launched");
      await page.reload();
      await page.getByTestId("launch-deferred").waitFor();
      expect(await page.getByTestId("launch-deferred").textContent()).toMatch(/[1-9]/);
      await shot("05b-launched-deferred");
      await page.goto(`${server.url}/#/campaigns`);
      expect(await page.getByTestId(`sent-${id}`).textContent()).toBe("0");

      // The next morning at 08:30 the deferred sends go out; the list's "sent" counts them.
      setClock(
        runtime,
        new Date(Date.parse(EVENING) + 2 * day * DAY + 10 * 3_600_000 + 10 * 60_000).toISOString(),
      );
      const ticked = await tick(runtime);
      expect(ticked.sent).toBeGreaterThan(0);
      await page.reload();
      await poll(async () =>
        Number((await page.getByTestId(`sent-${id}`).textContent())?.replaceAll(",", "")),
      ).toBe(ticked.sent);
      await shot("05c-list-after-tick");
    });

    it("the analyst sees the funnel with axes and legend, exports the ledger, and the audit trail", async () => {
      await signInAs("ann");
      // An analyst builds nothing: no builder in the nav, and a typed-in link says why in their language.
      expect(await page.getByRole("link", { name: say("新建活动", "New campaign") }).count()).toBe(0);
      await page.goto(`${server.url}/#/new`);
      await page.getByText(say("只有营销人员和管理员", "Only marketers and admins")).waitFor();
      await page.goto(`${server.url}/#/funnel`);
      // The picker names campaigns, not only ids.
      const option = page.locator("#fc option", { hasText: `Web journey ${lang} ${width}` });
      await poll(() => option.count()).toBe(1);
      await page.locator("#fc").selectOption(id);
      const sent = page.getByTestId("total-sent");
      await poll(async () => Number((await sent.textContent())?.replaceAll(",", "")), {
        timeout: 30_000,
      }).toBeGreaterThan(0);
      await page.getByRole("img", { name: say("提升", "Uplift") }).waitFor();
      // Unique events as they happened sit beside the cumulative stages.
      await page.getByRole("columnheader", { name: say("独立点击", "Unique clicks") }).waitFor();
      await page.getByTestId("unique-clicked").waitFor();
      expect(await page.getByTestId("uplift-axis").textContent()).toContain(say("个百分点", "pp"));
      expect(await page.getByTestId("uplift-legend").textContent()).toContain(say("置信区间", "interval"));
      const legend = page.locator(".u-legend");
      await poll(() => legend.textContent()).toContain(say("已发送", "sent"));
      expect(await page.locator(".u-axis").count()).toBeGreaterThan(1);
      await shot("05-funnel");
      // The chart's legend follows the language switch.
      await page.getByRole("button", { name: say("English", "中文") }).click();
      await poll(() => legend.textContent()).toContain(say("sent", "已发送"));
      await page.getByRole("button", { name: say("中文", "English") }).click();
      await poll(() => legend.textContent()).toContain(say("已发送", "sent"));
      // Export: the whole ledger as one CSV file, a row per recipient decision.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: say("导出台账 CSV", "Export ledger CSV") }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(`${id}-ledger.csv`);
      const file = join(SHOTS, `${lang}-${width}-ledger.csv`);
      await download.saveAs(file);
      const lines = readFileSync(file, "utf8").trim().split("\n");
      expect(lines[0]).toMatch(/^customerId,tier,decision,reason,channel,variant,messageId,at/);
      expect(lines.filter((l) => l.includes(",sent,")).length).toBeGreaterThan(0);
      await page.goto(`${server.url}/#/campaign/${id}`);
      await page.getByText(say("哈希链完整", "hash chain intact")).waitFor();
      const actions = await page.locator("tbody tr td:nth-child(4)").allTextContents();
      expect(actions).toEqual([
        "create",
        "submit",
        "approve",
        "edit",
        "submit",
        "approve",
        "launch",
        "launched",
      ]);
      await shot("06-audit");
    });

    it("a marketer schedules the campaign, reads the cron in words, disables and deletes it", async () => {
      await signInAs("mia");
      await page.goto(`${server.url}/#/schedules`);
      const sid = `s-${lang}-${width}`;
      await page.locator("#sid").fill(sid);
      await page.locator("#scamp").fill(id);
      await page.locator("#scron").fill("30 7 * * 1-5");
      await page.getByRole("button", { name: say("保存草稿", "Save draft") }).click();
      const words = page.getByTestId(`cron-${sid}`);
      await poll(() => words.textContent()).toBe(say("每周一至周五 07:30", "every Monday–Friday at 07:30"));
      await page.getByRole("button", { name: `${say("停用", "Disable")} ${sid}` }).click();
      await page.getByRole("button", { name: `${say("启用", "Enable")} ${sid}` }).waitFor();
      await shot("07-schedules");
      await page.getByRole("button", { name: `${say("删除", "Delete")} ${sid}` }).click();
      await page.getByText(say("确定删除此计划", "Delete this schedule?")).waitFor();
      await page.getByRole("button", { name: say("确认", "Confirm"), exact: true }).click();
      await poll(() => words.count()).toBe(0);
    });

    it("switching the language relabels the page", async () => {
      await page.getByRole("button", { name: say("English", "中文") }).click();
      await page.getByRole("link", { name: say("Campaigns", "活动"), exact: true }).waitFor();
      await page.getByRole("button", { name: say("中文", "English") }).click();
      await page.getByRole("link", { name: say("活动", "Campaigns"), exact: true }).waitFor();
    });

    it("raised no error in the page", () => {
      expect(pageErrors).toEqual([]);
    });
  },
);
