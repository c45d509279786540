import { logger } from "#platform/logger.ts";
import type { AnchoredHead } from "./chain.ts";
import type { AuditAnchor } from "./store.ts";

/**
 * On AWS the heads go to the function's CloudWatch log (retained apart from the table, under another
 * permission): an export of these lines (`{"auditHead":…}`) is what `tiercast audit verify --anchor`
 * compares the table with.
 */
export const logAnchor: AuditAnchor = {
  async record(head: AnchoredHead) {
    logger.info("audit head", { auditHead: head });
  },
};

/** The latest head per trail from anchor lines (JSONL of heads, or of log records carrying `auditHead`). */
export function latestHeads(lines: Iterable<string>): Map<string, AnchoredHead> {
  const out = new Map<string, AnchoredHead>();
  for (const line of lines) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const head = ((value as { auditHead?: unknown }).auditHead ?? value) as Partial<AnchoredHead>;
    if (typeof head.trail !== "string" || typeof head.seq !== "number" || typeof head.mac !== "string")
      continue;
    const seen = out.get(head.trail);
    if (!seen || head.seq > seen.seq)
      out.set(head.trail, { trail: head.trail, seq: head.seq, mac: head.mac });
  }
  return out;
}
