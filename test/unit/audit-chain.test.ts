import { describe, expect, it } from "vitest";
import {
  type AuditEntry,
  auditKey,
  entryMac,
  GENESIS,
  headMac,
  type StoredAuditEntry,
  verifyTrail,
} from "#functions/audit/chain.ts";
import { runId } from "#functions/schedules/core.ts";

const key = auditKey("a-test-secret-of-enough-length");
const trail = "AUDIT#campaign#c1";
const entry = (n: number, after: unknown = { n }): AuditEntry => ({
  entity: "campaign",
  entityId: "c1",
  action: `a${n}`,
  actor: { userId: "mia", role: "marketer" },
  at: "2027-03-01T02:00:00.000Z",
  after,
});

function chain(n: number) {
  const items: { sk: string; entry: StoredAuditEntry }[] = [];
  let prevMac = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const e = entry(seq);
    const mac = entryMac(key, trail, seq, prevMac, e);
    items.push({ sk: String(seq).padStart(10, "0"), entry: { ...e, seq, prevMac, mac } });
    prevMac = mac;
  }
  const last = items.at(-1)!.entry;
  return { items, head: { seq: n, mac: last.mac, headMac: headMac(key, trail, n, last.mac) } };
}

describe("audit chain (pure)", () => {
  it("MACs content, not the order a store returns a map's keys in", () => {
    const a = entryMac(key, trail, 1, GENESIS, entry(1, { x: 1, y: { p: [1, 2], q: "s" } }));
    const b = entryMac(key, trail, 1, GENESIS, entry(1, { y: { q: "s", p: [1, 2] }, x: 1 }));
    expect(a).toBe(b);
    expect(entryMac(key, trail, 1, GENESIS, entry(1, { x: 2 }))).not.toBe(a);
  });

  it("binds an entry to its trail and number", () => {
    const e = entry(1);
    const mac = entryMac(key, trail, 1, GENESIS, e);
    expect(entryMac(key, "AUDIT#campaign#c2", 1, GENESIS, e)).not.toBe(mac);
    expect(entryMac(key, trail, 2, GENESIS, e)).not.toBe(mac);
    expect(entryMac(auditKey("another-secret-of-enough-length"), trail, 1, GENESIS, e)).not.toBe(mac);
  });

  it("finds nothing wrong with an untouched trail", () => {
    const { items, head } = chain(3);
    expect(verifyTrail(key, trail, items, head, { seq: 3, mac: head.mac })).toEqual([]);
  });

  it("names a deleted middle entry, a head ahead of the trail, and a missing head", () => {
    const { items, head } = chain(4);
    expect(verifyTrail(key, trail, [items[0]!, items[2]!, items[3]!], head).join("\n")).toMatch(
      /entry 2 is missing/,
    );
    expect(verifyTrail(key, trail, items.slice(0, 2), head).join("\n")).toMatch(/truncated/);
    expect(verifyTrail(key, trail, items, undefined).join("\n")).toMatch(/head is missing/);
  });

  it("accepts entries after the head when their MACs chain (an append that has not moved the head yet)", () => {
    const { items } = chain(3);
    const early = items[1]!.entry;
    const head = { seq: 2, mac: early.mac, headMac: headMac(key, trail, 2, early.mac) };
    expect(verifyTrail(key, trail, items, head)).toEqual([]);
  });
});

describe("schedule run ids", () => {
  it("stay within 64 characters, differ per schedule and firing, and repeat for the same firing", () => {
    const long = "c".repeat(64);
    const a = runId(long, "early", "202704011000");
    expect(a.length).toBeLessThanOrEqual(64);
    expect(runId(long, "early", "202704011000")).toBe(a);
    expect(runId(long, "late", "202704011000")).not.toBe(a);
    expect(runId(long, "early", "202704011005")).not.toBe(a);
    expect(runId(`${"c".repeat(63)}d`, "early", "202704011000")).not.toBe(a);
    expect(runId("short", "s", "202704011000")).toMatch(/^short-202704011000-[0-9a-f]{10}$/);
  });
});
