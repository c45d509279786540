#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (node --cpu-prof) by where the self time went: npm package, the
// project's own directories, Node internals, GC and idle. Usage: node scripts/profile-summary.mjs FILE [top]
import { readFileSync } from "node:fs";

const [file, top = "12"] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/profile-summary.mjs FILE.cpuprofile [top]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}

function bucket(node) {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (functionName === "(idle)") return "(idle)";
    if (functionName === "(garbage collector)") return "(garbage collector)";
    if (functionName === "(program)") return "(program)";
    return "(native)";
  }
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return "node: internals";
  const own = url.match(/\/(functions|local|cli|workflows|infra|web)\/[^/]+/);
  return own ? own[0].slice(1) : url;
}

const totals = new Map();
let all = 0;
for (const [id, us] of self) {
  const b = bucket(byId.get(id));
  totals.set(b, (totals.get(b) ?? 0) + us);
  all += us;
}
const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
console.log(`${(all / 1e6).toFixed(1)} s sampled in ${file}`);
for (const [name, us] of rows)
  console.log(
    `${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(1).padStart(7)} s  ${name}`,
  );
