import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { localBank, setClock } from "../integration/bank.ts";
import { launchChromium } from "./browser.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "e2e");
/** A CJK web font from npm, so the screenshots show Chinese on a machine without CJK fonts. */
const FONTS = join(ROOT, "node_modules", "@fontsource", "noto-sans-sc");
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai

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
  mkdirSync(SHOTS, { recursive: true });
  // The console under test is built from the working tree, not a stale dist.
  const { build } = await import("vite");
  await build({
    configFile: join(ROOT, "web", "vite.config.ts"),
    logLevel: "error",
  });
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
  "web console at $width px in $lang: create → preview → submit → approve → launch → funnel",
  ({ lang, width, day }) => {
    const say = (zh: string, en: string) => (lang === "zh" ? zh : en);
    const id = `web-${lang}-${width}`;
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];

    async function shot(name: string) {
      // Layout first, so the glyphs on the page have asked for their font subsets before we wait on them.
      await page.evaluate("(document.body.getBoundingClientRect(), document.fonts.ready).then(() => true)");
      // Nothing may push the page wider than the window (a wide table scrolls inside itself).
      const overflow = Number(
        await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
      );
      expect(
        overflow,
        `${name} at ${width} px is ${overflow} px too wide: ${overflow > 0 ? await wideElements() : ""}`,
      ).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(SHOTS, `${lang}-${width}-${name}.png`), fullPage: true });
    }

    /** The elements that reach past the window's right edge, for the message of a failed width check. */
    async function wideElements() {
      return page.evaluate(`[...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5)
        .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
        .join(", ")`);
    }

    /** Signs in with the keyboard only: Tab to the token field, type, Enter. */
    async function signInAs(user: string) {
      await page.goto(`${server.url}/#/campaigns`);
      const signOut = page.getByRole("button", { name: say("退出", "Sign out") });
      if (await signOut.isVisible().catch(() => false)) {
        await signOut.click();
        await page.reload(); // focus starts at the top of the document again
      }
      await page.getByLabel(say("访问令牌", "Access token")).waitFor();
      await page.keyboard.press("Tab"); // skip link
      await page.keyboard.press("Tab"); // token field
      await page.keyboard.type(tokens[user]!);
      await page.keyboard.press("Enter");
      await page.getByText(new RegExp(`${user} ·`)).waitFor();
    }

    beforeAll(async () => {
      // A day per run: the per-channel daily cap would otherwise exclude the earlier runs' recipients.
      setClock(runtime, new Date(Date.parse(AT) + day * 86_400_000).toISOString());
      context = await browser.newContext({
        viewport: { width, height: 900 },
        locale: say("zh-CN", "en-US"),
      });
      // The console's language is the user's choice, kept in localStorage; seed it once per context.
      await context.addInitScript({
        content: `if (!localStorage.getItem("tiercast.lang")) localStorage.setItem("tiercast.lang", ${JSON.stringify(lang)});`,
      });
      // A font that cannot be served costs the screenshots their Chinese, never the page its load.
      await context.route("**/__e2e-fonts/**", (route) =>
        route
          .fulfill({
            path: join(FONTS, new URL(route.request().url()).pathname.replace("/__e2e-fonts/", "")),
          })
          .catch(() => route.abort()),
      );
      await context.addInitScript({
        content: `document.addEventListener("DOMContentLoaded", () => {
        const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/__e2e-fonts/400.css" });
        document.head.append(link);
      });`,
      });
      page = await context.newPage();
      page.setDefaultTimeout(20_000);
      page.on("pageerror", (e) => pageErrors.push(e.stack ?? e.message));
    });
    afterAll(async () => {
      await context?.close();
    });

    it("a marketer builds a campaign with a live preview and submits it", async () => {
      await signInAs("mia");
      await shot("01-campaigns");
      await page.getByRole("link", { name: say("新建活动", "New campaign") }).click();
      await page.getByLabel(say("活动编号", "Campaign ID")).fill(id);
      await page.getByLabel(say("名称", "Name"), { exact: true }).fill(`Web journey ${lang} ${width}`);
      await page.getByRole("checkbox", { name: say("优质", "quality"), exact: true }).check();
      await page.getByLabel(say("层级", "Tiers"), { exact: true }).last().fill("potential, quality");
      const audience = page.getByTestId("preview-audience");
      await expect
        .poll(async () => (await audience.textContent()) ?? "")
        .toMatch(new RegExp(`${say("目标人数", "Audience")} [1-9]`));
      await expect.poll(() => page.locator(".sample").count()).toBeGreaterThan(0);
      // Codes reach the reader in the chosen language: a tier and an exclusion reason.
      await page
        .getByRole("cell", { name: say("潜力", "potential"), exact: true })
        .first()
        .waitFor();
      await page
        .getByRole("cell", { name: say("未授权营销", "no marketing consent"), exact: true })
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

    it("the marketer has no approve button; a second user approves from the queue", async () => {
      await page.goto(`${server.url}/#/approvals`);
      await page.getByText(id, { exact: true }).waitFor();
      expect(await page.getByRole("button", { name: say("批准", "Approve") }).count()).toBe(0);
      await signInAs("ari");
      await page.goto(`${server.url}/#/approvals`);
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
      await shot("04-approved");
    });

    it("the marketer launches it, and the analyst sees the funnel, uplift and audit trail", async () => {
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
      await expect.poll(status, { timeout: 120_000, interval: 250 }).toBe("launched");
      await signInAs("ann");
      await page.goto(`${server.url}/#/funnel/${id}`);
      const sent = page.getByTestId("total-sent");
      await expect
        .poll(async () => Number((await sent.textContent())?.replaceAll(",", "")), { timeout: 30_000 })
        .toBeGreaterThan(0);
      await page.getByRole("img", { name: say("提升", "Uplift") }).waitFor();
      await shot("05-funnel");
      await page.goto(`${server.url}/#/campaign/${id}`);
      await page.getByText(say("哈希链完整", "hash chain intact")).waitFor();
      const actions = await page.locator("tbody tr td:nth-child(4)").allTextContents();
      expect(actions).toEqual(["create", "submit", "approve", "launch", "launched"]);
      await shot("06-audit");
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
