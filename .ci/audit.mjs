#!/usr/bin/env node
// The production dependencies' audit gate: fails CI on any high or critical advisory. Where the
// registry's audit endpoint cannot be reached (some mirrors and sandboxes answer 405), it says so
// plainly and does not fail: a gate that cannot ask is reported, never silently passed as clean.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

// `node .ci/audit.mjs report.json` judges a saved `npm audit --json` report instead (to check the gate).
const run = process.argv[2]
  ? { stdout: readFileSync(process.argv[2], "utf8"), status: 0 }
  : spawnSync("npm", ["audit", "--omit=dev", "--json"], { encoding: "utf8" });
let report;
try {
  report = JSON.parse(run.stdout || "{}");
} catch {
  console.error(`audit: unreadable npm audit output (exit ${run.status})`);
  process.exit(1);
}
if (!report.metadata) {
  const why = report.message ?? report.error?.summary ?? `npm audit exit ${run.status}`;
  console.error(`audit: NOT CHECKED, the registry's audit endpoint is unavailable here (${why})`);
  process.exit(0);
}
const v = report.metadata.vulnerabilities ?? {};
const blocking = (v.high ?? 0) + (v.critical ?? 0);
console.error(
  `audit: ${report.metadata.dependencies?.prod ?? "?"} production dependencies; ` +
    `critical ${v.critical ?? 0}, high ${v.high ?? 0}, moderate ${v.moderate ?? 0}, low ${v.low ?? 0}`,
);
if (blocking > 0) {
  for (const [name, entry] of Object.entries(report.vulnerabilities ?? {}))
    if (entry.severity === "high" || entry.severity === "critical")
      console.error(`  ${entry.severity}: ${name} ${entry.range ?? ""}`);
  process.exit(1);
}
