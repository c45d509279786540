import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { latestHeads } from "#functions/audit/anchor.ts";
import type { AuditAnchor } from "#functions/audit/store.ts";

/**
 * The embedded runtime's audit anchor: every new head appended to `<data-dir>/audit-anchor.jsonl`,
 * outside the store, so rolling the table's audit items back (or deleting a trail) is detectable.
 * One line per append with O_APPEND, so a CLI and `serve` on the same data dir can both write it.
 */
export function fileAnchor(path: string): AuditAnchor {
  return {
    async record(head) {
      appendFileSync(path, `${JSON.stringify(head)}\n`, { mode: 0o600 });
    },
    async read() {
      let text = "";
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      return latestHeads(text.split("\n"));
    },
  };
}

/** The anchor of a runtime: its data dir's file, or none for an in-memory runtime (tests pass their own). */
export function localAuditAnchor(runtime: { dataDir?: string }): AuditAnchor | undefined {
  return runtime.dataDir ? fileAnchor(join(runtime.dataDir, "audit-anchor.jsonl")) : undefined;
}
