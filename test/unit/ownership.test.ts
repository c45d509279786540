import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layout's rules (issue 15, CONVENTIONS.md "One owner per record"), read from the source so a
 * change that breaks one fails here rather than in a review.
 */
const ROOT = join(import.meta.dirname, "../..");
const FUNCTIONS = join(ROOT, "functions");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}
const files = sources(FUNCTIONS).map((path) => ({
  path: relative(ROOT, path),
  text: readFileSync(path, "utf8"),
}));

/** The record's key builder, and the only folder (or file) that may write items built with it. */
const OWNERS: { record: string; key: RegExp; owner: string }[] = [
  { record: "ledger row", key: /\bkey\.ledger\(|LEDGER#/, owner: "functions/ledger/" },
  { record: "campaign", key: /\bkey\.campaign\(|SK: `V#/, owner: "functions/campaign/record.ts" },
  { record: "contact state", key: /\bkey\.contactState\(|ADDR#/, owner: "functions/contact/" },
  { record: "customer profile", key: /\bkey\.customer\(/, owner: "functions/customers/" },
  { record: "audit entry", key: /AUDIT#/, owner: "functions/audit/" },
  { record: "dry-run job", key: /DRYRUNS?#/, owner: "functions/dryrun/" },
];
const WRITES = /new (UpdateCommand|PutCommand|DeleteCommand|TransactWriteCommand|BatchWriteCommand)\(/;

describe("one owner per record", () => {
  for (const { record, key, owner } of OWNERS)
    it(`only ${owner} writes the ${record}`, () => {
      const writers = files.filter((f) => WRITES.test(f.text) && key.test(f.text)).map((f) => f.path);
      expect(writers.filter((p) => !p.startsWith(owner))).toEqual([]);
    });

  it("reads process.env in one place under functions/ (platform/env.ts)", () => {
    const readers = files.filter((f) => /process\.env\b/.test(f.text)).map((f) => f.path);
    expect(readers).toEqual(["functions/platform/env.ts"]);
  });

  it("keeps the AWS SDK out of every core.ts", () => {
    const cores = files.filter((f) => f.path.endsWith("/core.ts"));
    expect(cores.length).toBeGreaterThan(5);
    expect(cores.filter((f) => /from "@aws-sdk\//.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it("has no shared/ grab-bag and no reset hooks", () => {
    expect(files.filter((f) => f.path.startsWith("functions/shared/"))).toEqual([]);
    expect(files.filter((f) => /export function reset\w*\(/.test(f.text)).map((f) => f.path)).toEqual([]);
  });
});
