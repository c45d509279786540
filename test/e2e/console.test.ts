import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { localBank, setClock } from "../integration/bank.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = join(import.meta.dirname, "..", "..", "test-artifacts", "e2e");
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
let page: Page;
const tokens: Record<string, string> = {};

async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Signs in with the keyboard only: Tab to the token field, type, Enter. */
async function signInAs(user: string) {
  await page.goto(`${server.url}/#/campaigns`);
  const signOut = page.getByRole("button", { name: /退出|Sign out/ });
  if (await signOut.isVisible().catch(() => false)) {
    await signOut.click();
    await page.reload(); // focus starts at the top of the document again
  }
  await page.getByLabel(/访问令牌|Access token/).waitFor();
  await page.keyboard.press("Tab"); // skip link
  await page.keyboard.press("Tab"); // token field
  await page.keyboard.type(tokens[user]!);
  await page.keyboard.press("Enter");
  await page.getByText(new RegExp(`${user} ·`)).waitFor();
}

describe("web console in headless Chromium: create → preview → submit → approve → launch → funnel", () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    mkdirSync(SHOTS, { recursive: true });
    // The console under test is built from the working tree, not a stale dist.
    const { build } = await import("vite");
    await build({
      configFile: join(import.meta.dirname, "..", "..", "web", "vite.config.ts"),
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
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await runtime?.stop();
  });

  it("a marketer builds a campaign with a live preview and submits it", async () => {
    await signInAs("mia");
    await shot("01-campaigns");
    await page.getByRole("link", { name: /新建活动|New campaign/ }).click();
    await page.getByLabel(/活动编号|Campaign ID/).fill("web-journey");
    await page.getByLabel(/^名称$|^Name$/).fill("Web journey");
    await page.getByRole("checkbox", { name: "quality" }).check();
    await page
      .getByLabel(/^层级$|^Tiers$/)
      .last()
      .fill("potential, quality");
    const audience = page.getByTestId("preview-audience");
    await expect.poll(async () => (await audience.textContent()) ?? "").toMatch(/目标人数 [1-9]/);
    await expect.poll(() => page.locator(".sample").count()).toBeGreaterThan(0);
    await shot("02-builder-preview");
    await page.getByRole("button", { name: /保存草稿|Save draft/ }).click();
    await page.getByRole("button", { name: /提交审批|Submit/ }).click();
    await page.locator(".status", { hasText: "submitted" }).first().waitFor();
    await shot("03-submitted");
  });

  it("the marketer has no approve button; a second user approves from the queue", async () => {
    await page.goto(`${server.url}/#/approvals`);
    await page.getByText("web-journey").first().waitFor();
    expect(await page.getByRole("button", { name: /批准|Approve/ }).count()).toBe(0);
    await signInAs("ari");
    await page.goto(`${server.url}/#/approvals`);
    await page.getByRole("button", { name: /批准 web-journey|Approve web-journey/ }).click();
    await page.getByText(/没有待审批的活动|Nothing waiting/).waitFor();
    await shot("04-approved");
  });

  it("the marketer launches it, and the analyst sees the funnel, uplift and audit trail", async () => {
    await signInAs("mia");
    await page.goto(`${server.url}/#/campaign/web-journey`);
    await page.getByRole("button", { name: /^发布$|^Launch$/ }).click();
    await expect.poll(() => server.running.size, { timeout: 5_000 }).toBeGreaterThanOrEqual(0);
    await Promise.all([...server.running]);
    await signInAs("ann");
    await page.getByRole("button", { name: /English|中文/ }).click(); // switch to English
    await page.goto(`${server.url}/#/funnel/web-journey`);
    const sent = page.getByTestId("total-sent");
    await expect.poll(async () => Number((await sent.textContent())?.replaceAll(",", ""))).toBeGreaterThan(0);
    await page.getByRole("img", { name: /Uplift/ }).waitFor();
    await shot("05-funnel");
    await page.goto(`${server.url}/#/campaign/web-journey`);
    await page.getByText("hash chain intact").waitFor();
    const actions = await page.locator("tbody tr td:nth-child(4)").allTextContents();
    expect(actions).toEqual(["create", "submit", "approve", "launch", "launched"]);
    await shot("06-audit");
  });
});
