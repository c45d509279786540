import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "tiercast-audit-"));

/** Runs CI's audit gate on a saved `npm audit --json` report. */
function gate(report: unknown) {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(report));
  const run = spawnSync(process.execPath, [".ci/audit.mjs", file], { encoding: "utf8" });
  return { code: run.status, stderr: run.stderr };
}

const metadata = (high: number, critical: number) => ({
  metadata: {
    vulnerabilities: { info: 0, low: 3, moderate: 2, high, critical },
    dependencies: { prod: 120 },
  },
});

describe("CI's audit gate", () => {
  it("fails on a high or a critical advisory in production dependencies, naming the package", () => {
    const high = gate({
      ...metadata(1, 0),
      vulnerabilities: { nodemailer: { severity: "high", range: "<6.9.9" } },
    });
    expect(high.code).toBe(1);
    expect(high.stderr).toContain("high: nodemailer <6.9.9");
    expect(gate(metadata(0, 1)).code).toBe(1);
  });

  it("passes low and moderate findings, and says what it counted", () => {
    const clean = gate(metadata(0, 0));
    expect(clean.code).toBe(0);
    expect(clean.stderr).toContain("critical 0, high 0, moderate 2, low 3");
  });

  it("says NOT CHECKED, without passing it off as clean, when the audit endpoint answers an error", () => {
    const unavailable = gate({ message: "405 Method Not Allowed - POST …/advisories/bulk", statusCode: 405 });
    expect(unavailable.code).toBe(0);
    expect(unavailable.stderr).toMatch(/NOT CHECKED.*405 Method Not Allowed/);
  });
});
