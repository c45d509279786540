import { createHash } from "node:crypto";
import { join } from "node:path";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuditEntry,
  entryMac,
  headMac,
  type StoredAuditEntry,
  trailOf,
} from "#functions/audit/chain.ts";
import { type AuditDeps, appendAudit, readAudit, verifyAudit } from "#functions/audit/store.ts";
import { fileAnchor } from "#local/audit-anchor.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { parseConfig } from "#platform/config.ts";
import { tempDir } from "../helpers.ts";

let runtime: Runtime;
let deps: AuditDeps;

const entry = (entityId: string, n: number): AuditEntry => ({
  entity: "campaign",
  entityId,
  action: `step-${n}`,
  actor: { userId: "mia", role: "marketer" },
  at: new Date(Date.UTC(2027, 2, 1, 2, n)).toISOString(),
  after: { n, nested: { b: 1, a: [1, 2] } },
});

async function trailOfN(entityId: string, n: number) {
  for (let i = 1; i <= n; i++) await appendAudit(deps, entry(entityId, i));
}

const table = () => ({ TableName: runtime.repo.table });
const seqKey = (n: number) => String(n).padStart(10, "0");
const del = (pk: string, sk: string) =>
  runtime.repo.ddb.send(new DeleteCommand({ ...table(), Key: { PK: pk, SK: sk } }));
const put = (item: Record<string, unknown>) =>
  runtime.repo.ddb.send(new PutCommand({ ...table(), Item: item }));
const item = (pk: string, n: number) => runtime.repo.get<StoredAuditEntry>({ PK: pk, SK: seqKey(n) });

describe("audit log: keyed chain, anchored head", () => {
  beforeAll(async () => {
    runtime = await startRuntime({ config: parseConfig({}) });
    deps = {
      repo: runtime.repo,
      secret: runtime.secret,
      auditAnchor: fileAnchor(join(tempDir("tiercast-audit-"), "audit-anchor.jsonl")),
    };
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it("verifies an untouched trail, whatever order the store returns map keys in", async () => {
    await trailOfN("clean", 4);
    const trail = await readAudit(deps, "campaign", "clean");
    expect(trail.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(trail).toMatchObject({ intact: true, problems: [] });
  });

  it("detects the newest entries deleted (the head is ahead of the trail)", async () => {
    await trailOfN("truncated", 5);
    const pk = trailOf({ entity: "campaign", entityId: "truncated" });
    await del(pk, seqKey(5));
    await del(pk, seqKey(4));
    const trail = await readAudit(deps, "campaign", "truncated");
    expect(trail.intact).toBe(false);
    expect(trail.problems.join("\n")).toMatch(/truncated/);
  });

  it("detects the newest entries deleted with the head rolled back to an earlier genuine head (the anchor)", async () => {
    await trailOfN("rolled-back", 3);
    const pk = trailOf({ entity: "campaign", entityId: "rolled-back" });
    const oldHead = await runtime.repo.get({ PK: pk, SK: "HEAD" });
    await appendAudit(deps, entry("rolled-back", 4));
    await del(pk, seqKey(4));
    await put(oldHead!);
    const withoutAnchor = await readAudit({ ...deps, auditAnchor: undefined }, "campaign", "rolled-back");
    expect(withoutAnchor.intact).toBe(true); // inside the table, a replayed genuine head looks right…
    const trail = await readAudit(deps, "campaign", "rolled-back");
    expect(trail.intact).toBe(false); // …the anchor outside it does not
    expect(trail.problems.join("\n")).toMatch(/anchor recorded entry 4/);
  });

  it("detects a rewritten entry whose chain was recomputed without the key", async () => {
    await trailOfN("rewritten", 3);
    const pk = trailOf({ entity: "campaign", entityId: "rewritten" });
    // The attacker's best guess: recompute every MAC from entry 2 on with a key they chose, and the head.
    const forgedKey = createHash("sha256").update("guess").digest();
    let prev = (await item(pk, 1))!.mac;
    for (let n = 2; n <= 3; n++) {
      const e = (await item(pk, n))!;
      const changed = n === 2 ? { ...e, actor: { userId: "someone-else", role: "admin" } } : e;
      const mac = entryMac(forgedKey, pk, n, prev, changed);
      await put({ PK: pk, SK: seqKey(n), ...changed, prevMac: prev, mac });
      prev = mac;
    }
    await put({ PK: pk, SK: "HEAD", seq: 3, mac: prev, headMac: headMac(forgedKey, pk, 3, prev) });
    const trail = await readAudit(deps, "campaign", "rewritten");
    expect(trail.intact).toBe(false);
    expect(trail.problems.join("\n")).toMatch(/entry 2 does not match its MAC/);
    expect(trail.problems.join("\n")).toMatch(/head does not match its MAC/);
  });

  it("detects two entries swapped", async () => {
    await trailOfN("reordered", 4);
    const pk = trailOf({ entity: "campaign", entityId: "reordered" });
    const [two, three] = [(await item(pk, 2))!, (await item(pk, 3))!];
    await put({ ...three, PK: pk, SK: seqKey(2) });
    await put({ ...two, PK: pk, SK: seqKey(3) });
    const trail = await readAudit(deps, "campaign", "reordered");
    expect(trail.intact).toBe(false);
    expect(trail.problems.join("\n")).toMatch(/moved/);
  });

  it("detects a whole trail deleted, head and index included, from the anchor", async () => {
    await trailOfN("erased", 2);
    const pk = trailOf({ entity: "campaign", entityId: "erased" });
    for (const sk of [seqKey(1), seqKey(2), "HEAD"]) await del(pk, sk);
    await del("AUDIT#INDEX", pk);
    const verdict = await verifyAudit(deps);
    expect(verdict.problems.join("\n")).toMatch(/campaign\/erased: the anchor recorded entry 2/);
  });

  it("gives 20 concurrent appends to one trail 20 distinct numbers and an intact chain", async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(deps, entry("busy", i + 1))));
    const trail = await readAudit(deps, "campaign", "busy");
    expect(trail.entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(trail.entries.map((e) => e.action)).size).toBe(20);
    expect(trail).toMatchObject({ intact: true, problems: [] });
  });

  it("continues a trail whose head a crashed append left behind, and keeps it intact", async () => {
    await trailOfN("crashed", 2);
    const pk = trailOf({ entity: "campaign", entityId: "crashed" });
    const head = await runtime.repo.get({ PK: pk, SK: "HEAD" });
    await appendAudit(deps, entry("crashed", 3));
    await put(head!); // as if the append had died between its entry and its head
    await appendAudit(deps, entry("crashed", 4));
    const trail = await readAudit(deps, "campaign", "crashed");
    expect(trail.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(trail).toMatchObject({ intact: true, problems: [] });
  });

  it("appends an entry with a once-key only once", async () => {
    const once = { ...entry("once", 1), onceKey: "outcome:v1" };
    await appendAudit(deps, once);
    await appendAudit(deps, once);
    expect((await readAudit(deps, "campaign", "once")).entries).toHaveLength(1);
  });
});
