import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The audit log's integrity rules, pure (no store, no clock). Every entry carries an HMAC over its
 * trail, its number, the previous entry's MAC and its content, keyed with the runtime's secret: who
 * can write the table but does not hold the key can neither rewrite an entry nor recompute the chain.
 * Each trail has a head (its last number and MAC, itself MAC'd), so deleting the newest entries shows;
 * heads are also exported to an anchor outside the table, so rolling a whole trail back shows too.
 */

export type AuditEntity =
  | "campaign"
  | "schedule"
  | "user"
  | "import"
  | "events"
  | "target"
  | "customer"
  | "task"
  | "reward"
  | "plan"
  | "indicator"
  | "books";

export interface AuditActor {
  userId: string;
  role: string;
  branchId?: string;
}

export interface AuditEntry {
  entity: AuditEntity;
  entityId: string;
  action: string;
  actor: AuditActor;
  at: string;
  before?: unknown;
  after?: unknown;
  note?: string;
  /** Appended at most once per trail with this key (retried steps, e.g. a launch's finalize). */
  onceKey?: string;
}

export interface StoredAuditEntry extends AuditEntry {
  seq: number;
  prevMac: string;
  mac: string;
}

export interface AuditHead {
  seq: number;
  mac: string;
  headMac: string;
}

/** A trail's head as exported outside the table (the anchor). */
export interface AnchoredHead {
  trail: string;
  seq: number;
  mac: string;
}

export const GENESIS = "0".repeat(64);

export const trailOf = (e: Pick<AuditEntry, "entity" | "entityId">) => `AUDIT#${e.entity}#${e.entityId}`;

/** Its own key, derived from the runtime's secret, so an audit MAC is never valid as a link's or a webhook's. */
export function auditKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("tiercast:audit:v1").digest();
}

/** JSON with sorted keys: DynamoDB does not keep a map's key order, the MAC must not depend on it. */
export function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

export function entryMac(key: Buffer, trail: string, seq: number, prevMac: string, e: AuditEntry): string {
  const { entity, entityId, action, actor, at, before, after, note, onceKey } = e;
  return createHmac("sha256", key)
    .update(
      canonical({ trail, seq, prevMac, entity, entityId, action, actor, at, before, after, note, onceKey }),
    )
    .digest("hex");
}

export function headMac(key: Buffer, trail: string, seq: number, mac: string): string {
  return createHmac("sha256", key)
    .update(canonical({ head: trail, seq, mac }))
    .digest("hex");
}

const same = (a: string | undefined, b: string) =>
  typeof a === "string" && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Every problem of one trail: entries are checked in key order against their number, their MAC and
 * their link to the previous one; then the head against the entries; then the anchor against both.
 * Entries after the head with valid MACs are an append that has not moved the head yet, not a problem
 * (only a holder of the key could have written them).
 */
export function verifyTrail(
  key: Buffer,
  trail: string,
  items: { sk: string; entry: Partial<StoredAuditEntry> }[],
  head: Partial<AuditHead> | undefined,
  anchored?: Pick<AnchoredHead, "seq" | "mac">,
): string[] {
  const problems: string[] = [];
  const name = trail.replace(/^AUDIT#/, "").replace("#", "/");
  let prevMac = GENESIS;
  const macs = new Map<number, string>();
  items.forEach(({ sk, entry }, i) => {
    const position = i + 1;
    const at = Number(sk);
    if (typeof entry.mac !== "string") {
      problems.push(`${name}: entry ${sk} has no MAC (unkeyed, or forged without the key)`);
      prevMac = String((entry as { hash?: string }).hash ?? "");
      return;
    }
    if (at !== position)
      problems.push(`${name}: entry ${position} is missing (the next stored entry is ${at}): deleted`);
    if (entry.seq !== at) problems.push(`${name}: entry stored at ${at} says it is ${entry.seq}: moved`);
    else if (entry.prevMac !== prevMac)
      problems.push(`${name}: entry ${at} does not follow the entry before it: reordered or removed`);
    const expected = entryMac(key, trail, at, String(entry.prevMac), entry as StoredAuditEntry);
    if (!same(entry.mac, expected)) problems.push(`${name}: entry ${at} does not match its MAC: rewritten`);
    macs.set(at, entry.mac);
    prevMac = entry.mac;
  });
  const last = items.length ? Number(items[items.length - 1]!.sk) : 0;
  if (!head) {
    if (items.length) problems.push(`${name}: the trail's head is missing: deleted`);
  } else {
    const seq = Number(head.seq);
    if (!same(head.headMac, headMac(key, trail, seq, String(head.mac))))
      problems.push(`${name}: the head does not match its MAC: forged`);
    if (seq > last)
      problems.push(`${name}: the head is at entry ${seq} but the trail ends at ${last}: truncated`);
    else if (seq > 0 && macs.get(seq) !== head.mac)
      problems.push(`${name}: entry ${seq} is not the one the head recorded: replaced`);
  }
  if (anchored) {
    if (anchored.seq > last)
      problems.push(
        `${name}: the anchor recorded entry ${anchored.seq} but the trail ends at ${last}: truncated`,
      );
    else if (macs.get(anchored.seq) !== anchored.mac)
      problems.push(`${name}: entry ${anchored.seq} is not the one the anchor recorded: replaced`);
  }
  return problems;
}
