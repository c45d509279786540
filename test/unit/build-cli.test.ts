import { existsSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { buildCli, freshBuild } from "../../scripts/build-cli.mjs";

const SOURCE = join(import.meta.dirname, "..", "..", "cli", "output.ts");

describe("the CLI compiled ahead of time (scripts/build-cli.mjs)", () => {
  it("is current right after a build, and stale once one of its sources is newer", async () => {
    const entry: string = await buildCli();
    expect(existsSync(entry)).toBe(true);
    expect(freshBuild()).toBe(entry);
    const { atime, mtime } = statSync(SOURCE);
    try {
      utimesSync(SOURCE, atime, new Date(Date.now() + 1_000));
      expect(freshBuild()).toBeUndefined();
    } finally {
      utimesSync(SOURCE, atime, mtime);
    }
  });
});
