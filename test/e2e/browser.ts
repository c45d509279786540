import { existsSync } from "node:fs";
import { arch, platform } from "node:os";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";

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
