import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { localBank, setClock } from "../integration/bank.ts";
import { buildConsole, launchChromium, newContext, newPage, shot, signIn } from "./browser.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai: nothing waits for quiet hours
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 30_000, interval: 200 });

/** Each language once, one at the phone width and one at the desktop's. */
const RUNS = [
  { lang: "zh", width: 390 },
  { lang: "en", width: 1280 },
] as const;

let runtime: Runtime;
let server: LocalServer;
let browser: Browser;
let token = "";

beforeAll(async () => {
  await buildConsole();
  runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  server = await startServe(runtime, { schedulerMs: 0 });
  token = (await addUser(runtime.repo, { userId: "mia", role: "marketer" }, new Date(AT))).token;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await runtime?.stop();
});

/** The API's own dry run of a campaign body: what the builder's preview must show. */
async function apiPreview(body: unknown) {
  const res = await fetch(`${server.url}/api/preview`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { audience: number; eligible: number };
}

describe.each(RUNS)("the builder's growth fields at $width px in $lang", ({ lang, width }) => {
  const say = (zh: string, en: string) => (lang === "zh" ? zh : en);
  const id = `upgrade-${lang}-${width}`;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    context = await newContext(browser, { lang, width });
    page = await newPage(context, pageErrors);
  });
  afterAll(async () => context?.close());

  it("builds a tier-upgrade campaign with a nearNextTier filter and a goal, showing the API's errors per field and the preview's count", async () => {
    await signIn(page, { url: server.url, token, lang, hash: "#/new", user: "mia" });
    await page.getByLabel(say("活动编号", "Campaign ID")).fill(id);
    await page.getByLabel(say("名称", "Name"), { exact: true }).fill(`Upgrade ${lang}`);
    await page.getByLabel(say("剧本", "Playbook")).selectOption("tier-upgrade");
    // The playbook is named in the chosen language.
    expect(await page.locator("#pb option:checked").textContent()).toBe(say("客户升层", "tier upgrade"));
    await page
      .getByLabel(say("模板", "Template"))
      .fill("{{name|客户}}您好，您的资产距{{nextTier}}客户仅差{{gap}}元。");

    // A filter the API refuses: its problem is shown under the field, which is marked invalid.
    const near = page.getByLabel(say("临近升层：距下一层级门槛 %", "Near the next tier: within %"));
    await near.fill("0");
    const nearError = page.getByTestId("error-f-near");
    await poll(() => nearError.count()).toBe(1);
    expect(await nearError.textContent()).toBe("withinPercent: more than 0");
    expect(await near.getAttribute("aria-invalid")).toBe("true");
    await shot(page, `builder-${lang}-${width}-01-field-error`);
    await near.fill("10");
    await poll(() => nearError.count()).toBe(0);

    // A goal without its amount: the API's problem under the amount; then the goal "reached tier T".
    const goal = page.getByLabel(say("目标类型", "Goal"), { exact: true });
    await goal.selectOption("deposit");
    await poll(() => page.getByTestId("error-g-value").count()).toBe(1);
    await goal.selectOption("tier");
    await page.getByLabel(say("达到层级", "Reached tier")).selectOption("quality");
    await poll(() => page.getByTestId("error-g-value").count()).toBe(0);

    // The preview counts what the API counts for this very campaign, fewer than without the filter.
    const body = {
      campaignId: id,
      name: `Upgrade ${lang}`,
      playbook: "tier-upgrade",
      segment: {
        scheme: "retail",
        tiers: ["potential"],
        dormantDays: 180,
        nearNextTier: { withinPercent: 10 },
      },
      goal: { kind: "tier", tier: "quality" },
      variants: [
        {
          id: "A",
          tiers: ["potential"],
          channel: "sms",
          template: "{{name|客户}}您好，您的资产距{{nextTier}}客户仅差{{gap}}元。",
        },
      ],
      holdoutPercent: 5,
    };
    const expected = await apiPreview(body);
    const unfiltered = await apiPreview({ ...body, segment: { ...body.segment, nearNextTier: undefined } });
    expect(expected.audience).toBeGreaterThan(0);
    expect(expected.audience).toBeLessThan(unfiltered.audience);
    const audience = page.getByTestId("preview-audience");
    await poll(async () => (await audience.textContent()) ?? "").toContain(
      `${say("目标人数", "Audience")} ${expected.audience.toLocaleString("en-US")} · ${say("可触达", "Eligible")} ${expected.eligible.toLocaleString("en-US")}`,
    );
    expect(await page.locator("[aria-invalid=true]").count()).toBe(0);
    await shot(page, `builder-${lang}-${width}-02-preview`);

    // Saved as built, and the edit page reads it back into the same fields.
    // By keyboard: at the phone width the page is scrolled to the preview below the form, and a
    // mouse press there can see the page shift between press and release (the click then lands on
    // the form, not the button); Enter on the focused button submits wherever it sits.
    await page.getByRole("button", { name: say("保存草稿", "Save draft") }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: say("提交审批", "Submit") }).waitFor();
    const stored = (await (
      await fetch(`${server.url}/api/campaigns/${id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { campaign: Record<string, unknown> };
    expect(stored.campaign).toMatchObject({
      playbook: "tier-upgrade",
      segment: { scheme: "retail", tiers: ["potential"], nearNextTier: { withinPercent: 10 } },
      goal: { kind: "tier", tier: "quality" },
    });
    await page.goto(`${server.url}/#/edit/${id}`);
    await poll(() => page.getByLabel(say("活动编号", "Campaign ID")).inputValue()).toBe(id);
    expect(await near.inputValue()).toBe("10");
    expect(await goal.inputValue()).toBe("tier");
    expect(await page.getByLabel(say("达到层级", "Reached tier")).inputValue()).toBe("quality");
    expect(pageErrors).toEqual([]);
  });
});
