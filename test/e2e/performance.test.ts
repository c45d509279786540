import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { getCustomer, putCustomers } from "#functions/customers/store.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { customer } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "../integration/bank.ts";
import { buildConsole, launchChromium, newContext, newPage, SHOTS, signIn as signInTo } from "./browser.ts";

const AT = "2027-03-01T02:00:00.000Z";

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await buildConsole();
  // 12,000 customers: branches BR001 and BR002.
  runtime = await localBank(8_000, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  await launchCampaign(
    runtime,
    readCampaignFile("examples/dormant-reactivation.json", runtime.config),
    new Date(AT),
  );
  await putCustomers(
    runtime.repo,
    [customer({ customerId: "NEW-E2E", aum: 100_000, rmId: undefined, branchId: "BR001" })],
    AT,
  );
  for (const u of [
    { userId: "ada", role: "admin" as const },
    { userId: "bm1", role: "branch_manager" as const, branchId: "BR001" },
  ])
    tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
  server = await startServe(runtime, { schedulerMs: 0 });
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await runtime?.stop();
});

const signIn = (page: Page, token: string, hash: string) =>
  signInTo(page, { url: server.url, token, lang: "en", hash });

/** A desktop-width page in English that records the page's errors into `errors`. */
async function englishPage(errors: string[] = []): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, { lang: "en", width: 1280 });
  // The shared default wait (45 s): setting and cascading an indicator is a server-side computation,
  // which on a loaded 2-core CI host took longer than the 20 s this file used to allow.
  return { context, page: await newPage(context, errors) };
}

describe("branch and RM performance, indicators and books in the console", () => {
  it("shows a branch manager their branch's RMs, one RM's page, and only their branch", async () => {
    const errors: string[] = [];
    const { context, page } = await englishPage(errors);
    await signIn(page, tokens.bm1!, "#/performance");
    await page.getByRole("heading", { name: "Branch & RM performance · BR001" }).waitFor();
    const rmLinks = page.locator("tbody a[href^='#/performance/BR001/']");
    await rmLinks.first().waitFor();
    expect(await rmLinks.count()).toBeGreaterThan(3);
    expect(await page.locator("tbody a[href^='#/performance/BR002']").count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, "performance-branch-BR001.png"), fullPage: true });
    const first = String(await rmLinks.first().textContent());
    await rmLinks.first().click();
    await page.getByRole("heading", { name: `Branch & RM performance · BR001 · ${first}` }).waitFor();
    // One RM's row and the total (the console's CSP allows no evaluated strings).
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: 20_000 }).toBe(2);
    // Another branch's page is refused by the API, and the console says so.
    await page.goto(`${server.url}/#/performance/BR002`);
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("BR002");
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it("lets head office set an indicator and see it cascaded; a branch manager runs the book rules", async () => {
    const { context, page } = await englishPage();
    // The page's first answer (for today's quarter) arrives only after the user has typed another
    // quarter: it must neither reset what they typed nor replace the newer quarter's rows.
    let releaseFirst: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let held = false;
    await page.route("**/api/indicators/**", async (route) => {
      if (!held && route.request().method() === "GET") {
        held = true;
        await firstHeld;
      }
      await route.continue();
    });
    await signIn(page, tokens.ada!, "#/indicators");
    await page.getByRole("heading", { name: "Indicators" }).waitFor();
    await expect.poll(() => held).toBe(true);
    await page.getByLabel("Quarter").fill("2027Q1");
    // The late answer reaches the page before the user leaves the field (as it did on a loaded CI host).
    const late = page.waitForResponse(
      (r) => r.url().includes("/api/indicators/") && !r.url().includes("2027Q1"),
    );
    releaseFirst();
    await late;
    await page.waitForTimeout(300); // its render, if the page were to apply it
    await page.getByLabel("Quarter").press("Tab");
    await page.getByLabel("Target").fill("1000");
    await page.getByRole("button", { name: "Set and cascade" }).click();
    const bankMarch = page.locator("tbody tr", { hasText: "2027-03" }).filter({ hasText: "bank" });
    await bankMarch.first().waitFor();
    expect(await bankMarch.first().textContent()).toContain("333");
    await page.screenshot({ path: join(SHOTS, "indicators-2027Q1.png"), fullPage: true });
    await context.close();

    const { context: bm, page: p2 } = await englishPage();
    await signIn(p2, tokens.bm1!, "#/books");
    await p2.getByRole("heading", { name: "Books" }).waitFor();
    await p2.getByText("NEW-E2E").waitFor();
    await p2.getByLabel("preview only, write nothing").uncheck();
    await p2.getByRole("button", { name: "Run rules A–D" }).click();
    await p2.locator("[data-books-result]").waitFor();
    await p2.screenshot({ path: join(SHOTS, "books-BR001.png"), fullPage: true });
    expect((await getCustomer(runtime.repo, "NEW-E2E"))!.rmId).toMatch(/^RM/);
    await bm.close();
  }, 120_000);
});
