import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, platform } from "node:os";
import { join, relative } from "node:path";
import { type Browser, type BrowserContext, chromium, type LaunchOptions, type Page } from "playwright-core";

/** Flags every launch gets: no background traffic (loopback only), no first-run work. */
const QUIET = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * @sparticuz/chromium's serverless flags that would change what the tests see: `--single-process`
 * lets a browser hold only one context (the journey opens one per width and language), the
 * web-security ones would hide CORS and mixed-content defects, and playwright sets headless itself.
 */
const DROPPED = new Set([
  "--single-process",
  "--disable-web-security",
  "--allow-running-insecure-content",
  "--disable-site-isolation-trials",
  "--headless='shell'",
  "--headless",
]);

const SYSTEM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export interface Found {
  executablePath: string;
  args: string[];
  source: "CHROMIUM_PATH" | "@sparticuz/chromium" | "system";
}

/**
 * Which Chromium the browser tests drive: `CHROMIUM_PATH` when set, else the one the npm registry
 * ships in @sparticuz/chromium (so `npm ci && npm test` needs no system package), else a system
 * Chromium (for platforms the npm build does not cover: it is linux-x64 only).
 */
export async function findChromium(): Promise<Found> {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`CHROMIUM_PATH=${explicit} does not exist`);
    return { executablePath: explicit, args: QUIET, source: "CHROMIUM_PATH" };
  }
  if (platform() === "linux" && arch() === "x64") {
    const { default: sparticuz } = await import("@sparticuz/chromium");
    const args = sparticuz.args.filter((a) => !DROPPED.has(a) && !a.startsWith("--headless"));
    return {
      executablePath: await sparticuz.executablePath(),
      args: [...new Set([...QUIET, ...args])],
      source: "@sparticuz/chromium",
    };
  }
  const system = SYSTEM.find((p) => existsSync(p));
  if (system) return { executablePath: system, args: QUIET, source: "system" };
  throw new Error(
    `no Chromium for ${platform()}-${arch()}: @sparticuz/chromium ships linux-x64 only; install chromium or set CHROMIUM_PATH`,
  );
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const found = await findChromium();
  return chromium.launch({ ...options, executablePath: found.executablePath, args: found.args });
}

export const ROOT = join(import.meta.dirname, "..", "..");
/** Screenshots and downloads of the browser tests. */
export const SHOTS = join(ROOT, "test-artifacts", "e2e");
/** A CJK web font from npm, so the screenshots show Chinese on a machine without CJK fonts. */
const FONTS = join(ROOT, "node_modules", "@fontsource", "noto-sans-sc");
const WEB = join(ROOT, "web");
const DIST = join(WEB, "dist");
/** Beside the build: the hash of the sources it was built from. */
const STAMP = join(DIST, ".sources-sha256");
const LOCK = join(ROOT, "test-artifacts", ".console-build.lock");

/** What the console bundles from outside web/: the campaign file's lists (its builder offers them). */
const SHARED = [join(ROOT, "functions", "campaign", "vocabulary.ts")];

/** Every file the console is built from: web/ without its build, what it takes from functions/, and the lockfile (vite, preact). */
function sourcesHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (path === DIST || name === "node_modules") continue;
      if (statSync(path).isDirectory()) walk(path);
      else
        hash
          .update(`${relative(ROOT, path)}\0`)
          .update(readFileSync(path))
          .update("\0");
    }
  };
  walk(WEB);
  for (const path of SHARED)
    hash
      .update(`${relative(ROOT, path)}\0`)
      .update(readFileSync(path))
      .update("\0");
  hash.update(readFileSync(join(ROOT, "package-lock.json")));
  return hash.digest("hex");
}

const built = () => (existsSync(STAMP) ? readFileSync(STAMP, "utf8") : "");
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The console under test, built from the working tree (never a stale dist) once for every browser
 * test file: a build whose sources' hash matches is reused. A lock directory keeps two test files
 * (vitest runs files in parallel forks) from building into web/dist at once; a dead holder's lock is
 * taken over.
 */
export async function buildConsole(): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const want = sourcesHash();
  if (built() === want && existsSync(join(DIST, "index.html"))) return;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(existsSync(join(LOCK, "pid")) ? readFileSync(join(LOCK, "pid"), "utf8") : 0);
      if (holder && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (built() === want && existsSync(join(DIST, "index.html"))) return;
    const { build } = await import("vite");
    await build({ configFile: join(WEB, "vite.config.ts"), logLevel: "error" });
    writeFileSync(STAMP, want);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export type Lang = "zh" | "en";

/**
 * A browser context at one width in one language (kept in localStorage, where the console keeps the
 * user's choice; `langOnce` seeds it only when unset, so a switch in the page survives a reload),
 * with the CJK font served to the page so the Chinese screenshots show Chinese.
 */
export async function newContext(
  browser: Browser,
  options: { lang: Lang; width: number; height?: number; langOnce?: boolean; acceptDownloads?: boolean },
): Promise<BrowserContext> {
  const { lang, width, height = 900, langOnce = false, acceptDownloads } = options;
  const context = await browser.newContext({
    viewport: { width, height },
    locale: lang === "zh" ? "zh-CN" : "en-US",
    ...(acceptDownloads === undefined ? {} : { acceptDownloads }),
  });
  const set = `localStorage.setItem("tiercast.lang", ${JSON.stringify(lang)});`;
  await context.addInitScript({
    content: langOnce ? `if (!localStorage.getItem("tiercast.lang")) ${set}` : set,
  });
  // A font that cannot be served costs the screenshots their Chinese, never the page its load.
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
  return context;
}

/** A page of the context that records every uncaught error of the page into `errors`. */
export async function newPage(context: BrowserContext, errors: string[], timeout = 45_000): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => errors.push(e.stack ?? e.message));
  return page;
}

/** How many px the page is wider than the window (0 or less: nothing pushes it wider), and what does. */
export async function overflow(page: Page): Promise<{ px: number; wide: string }> {
  // Layout first, so the glyphs on the page have asked for their font subsets before we wait on them.
  await page.evaluate("(document.body.getBoundingClientRect(), document.fonts.ready).then(() => true)");
  const px = Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
  const wide =
    px > 0
      ? String(
          await page.evaluate(`[...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5)
            .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
            .join(", ")`),
        )
      : "";
  return { px, wide };
}

/**
 * A full-page screenshot into test-artifacts/e2e/`file`.png, after checking that nothing pushes the
 * page wider than the window (a wide table scrolls inside itself): throws with the widest elements.
 */
export async function shot(page: Page, file: string): Promise<void> {
  const { px, wide } = await overflow(page);
  if (px > 0) throw new Error(`${file} at ${page.viewportSize()?.width} px is ${px} px too wide: ${wide}`);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${file}.png`), fullPage: true });
}

/**
 * Signs in with a token at `url` + `hash`: signs out first if someone is signed in, types the token
 * into the field (with `keyboard`, only by keyboard: Tab past the skip link to it), presses Enter and
 * waits for the user's name when `user` is given.
 */
export async function signIn(
  page: Page,
  options: { url: string; token: string; lang: Lang; hash?: string; user?: string; keyboard?: boolean },
): Promise<void> {
  const { url, token, lang, hash = "#/campaigns", user, keyboard = false } = options;
  await page.goto(`${url}/${hash}`);
  const signOut = page.getByRole("button", { name: lang === "zh" ? "退出" : "Sign out" });
  if (await signOut.isVisible().catch(() => false)) {
    await signOut.click();
    await page.reload(); // focus starts at the top of the document again
  }
  const field = page.getByLabel(lang === "zh" ? "访问令牌" : "Access token");
  await field.waitFor();
  if (keyboard) {
    await page.keyboard.press("Tab"); // skip link
    await page.keyboard.press("Tab"); // token field
    await page.keyboard.type(token);
  } else await field.fill(token);
  await page.keyboard.press("Enter");
  if (user) await page.getByText(new RegExp(`${user} ·`)).waitFor();
}
