import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { conditional, type Repo } from "#platform/repo.ts";
import {
  type AnchoredHead,
  type AuditEntry,
  type AuditHead,
  auditKey,
  entryMac,
  GENESIS,
  headMac,
  type StoredAuditEntry,
  trailOf,
  verifyTrail,
} from "./chain.ts";

/**
 * The only writer of AUDIT# items. A trail is `AUDIT#<entity>#<id>`: entries at `0000000001`…, and its
 * head at `HEAD`; `AUDIT#INDEX` lists the trails, so a verify can find them without a scan. Everything
 * is written with PutItem.
 *
 * Appends go through a port (`AuditWriter`): in process on the embedded runtime, and on AWS through the
 * AuditWriter function (functions/audit/writer.ts), the only role that may put AUDIT# keys; every other
 * role is denied any write to them. Whichever side runs it, the append below is the one code path.
 */

/** Where heads are exported outside the table: a file next to the data locally, the function's log on AWS. */
export interface AuditAnchor {
  record(head: AnchoredHead): Promise<void>;
  /** The latest exported head of each trail, when this anchor can be read back. */
  read?(): Promise<Map<string, AnchoredHead>>;
}

/** Where an append goes: this process, or the AuditWriter function on AWS. */
export interface AuditWriter {
  append(entry: AuditEntry): Promise<StoredAuditEntry>;
}

export interface AuditDeps {
  repo: Repo;
  /** The runtime's secret (`<data-dir>/secret` locally, Secrets Manager on AWS); the audit key derives from it. */
  secret: string;
  auditAnchor?: AuditAnchor;
  /** Absent: appended in this process (the embedded runtime, and the AuditWriter function itself). */
  auditWriter?: AuditWriter;
}

export interface AuditVerdict {
  intact: boolean;
  entries: number;
  problems: string[];
}

const LAST = "9999999999";
const seqKey = (seq: number) => String(seq).padStart(10, "0");
const headKey = (trail: string) => ({ PK: trail, SK: "HEAD" });
const INDEX = "AUDIT#INDEX";

type Item = Record<string, unknown>;

async function entriesAfter(repo: Repo, trail: string, seq: number): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await repo.ddb.send(
      new QueryCommand({
        TableName: repo.table,
        KeyConditionExpression: "PK = :pk AND SK BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": trail, ":from": seqKey(seq + 1), ":to": LAST },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const strip = ({ PK: _pk, SK: _sk, ...rest }: Item) => rest;

/**
 * Appends one entry. The entry's number is claimed by a conditional put, so concurrent writers never
 * share one (the loser reads again and takes the next); the head then moves forward only (a put
 * conditional on its number being lower), so a slower writer never moves it back. A crash between
 * the two leaves the head one behind, and the next append starts from the entries after it.
 */
export async function appendAudit(deps: AuditDeps, entry: AuditEntry): Promise<StoredAuditEntry> {
  if (deps.auditWriter) return deps.auditWriter.append(entry);
  return appendHere(deps, entry);
}

/** The append itself, in this process: what the in-process port and the AuditWriter function run. */
export async function appendHere(deps: AuditDeps, entry: AuditEntry): Promise<StoredAuditEntry> {
  const { repo } = deps;
  const key = auditKey(deps.secret);
  const trail = trailOf(entry);
  const clean = JSON.parse(JSON.stringify(entry)) as AuditEntry;
  for (let attempt = 0; attempt < 100; attempt++) {
    const head = await repo.get<AuditHead>(headKey(trail));
    const after = await entriesAfter(repo, trail, clean.onceKey ? 0 : (head?.seq ?? 0));
    const existing = clean.onceKey ? after.find((i) => i.onceKey === clean.onceKey) : undefined;
    if (existing) {
      // Anchored again: the first append may have run where another anchor was wired (a workflow step).
      await deps.auditAnchor?.record({ trail, seq: Number(existing.seq), mac: String(existing.mac) });
      return strip(existing) as unknown as StoredAuditEntry;
    }
    const last = after.at(-1);
    const base = last
      ? { seq: Number(last.seq), mac: String(last.mac ?? last.hash ?? "") }
      : { seq: head?.seq ?? 0, mac: head?.mac ?? GENESIS };
    const seq = base.seq + 1;
    const stored: StoredAuditEntry = {
      ...clean,
      seq,
      prevMac: base.mac,
      mac: entryMac(key, trail, seq, base.mac, clean),
    };
    if (seq === 1) await repo.put({ PK: INDEX, SK: trail, entity: entry.entity, entityId: entry.entityId });
    const won = await conditional(
      repo.ddb.send(
        new PutCommand({
          TableName: repo.table,
          Item: { PK: trail, SK: seqKey(seq), ...stored },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      ),
    );
    if (!won) {
      // Someone took this number; back off a little (more with each loss) so many writers spread out.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
      continue;
    }
    await conditional(
      repo.ddb.send(
        new PutCommand({
          TableName: repo.table,
          Item: { ...headKey(trail), seq, mac: stored.mac, headMac: headMac(key, trail, seq, stored.mac) },
          ConditionExpression: "attribute_not_exists(PK) OR seq < :seq",
          ExpressionAttributeValues: { ":seq": seq },
        }),
      ),
    );
    await deps.auditAnchor?.record({ trail, seq, mac: stored.mac });
    return stored;
  }
  throw new Error(`the audit trail ${trail} is contended: 100 appends in a row lost their number`);
}

async function trailItems(repo: Repo, trail: string) {
  const items = await entriesAfter(repo, trail, 0);
  return items.map((i) => ({ sk: String(i.SK), entry: strip(i) as Partial<StoredAuditEntry> }));
}

/** One entity's trail, oldest first, with the problems its chain, head and anchor show. */
export async function readAudit(
  deps: AuditDeps,
  entity: AuditEntry["entity"],
  entityId: string,
): Promise<{ entries: StoredAuditEntry[]; intact: boolean; problems: string[] }> {
  const trail = trailOf({ entity, entityId });
  const [items, head, anchors] = await Promise.all([
    trailItems(deps.repo, trail),
    deps.repo.get<AuditHead>(headKey(trail)),
    deps.auditAnchor?.read?.(),
  ]);
  const problems = verifyTrail(auditKey(deps.secret), trail, items, head, anchors?.get(trail));
  return {
    entries: items.map((i) => i.entry as StoredAuditEntry),
    intact: problems.length === 0,
    problems,
  };
}

/** Every trail the index or the anchor knows, verified: what `tiercast audit verify` and the API report. */
export async function verifyAudit(deps: AuditDeps): Promise<AuditVerdict & { trails: number }> {
  const key = auditKey(deps.secret);
  const anchors = (await deps.auditAnchor?.read?.()) ?? new Map<string, AnchoredHead>();
  const trails = new Set<string>();
  for await (const item of deps.repo.queryAll(INDEX)) trails.add(String(item.SK));
  for (const trail of anchors.keys()) trails.add(trail);
  const problems: string[] = [];
  let entries = 0;
  for (const trail of [...trails].sort()) {
    const [items, head] = await Promise.all([
      trailItems(deps.repo, trail),
      deps.repo.get<AuditHead>(headKey(trail)),
    ]);
    entries += items.length;
    problems.push(...verifyTrail(key, trail, items, head, anchors.get(trail)));
  }
  return { intact: problems.length === 0, entries, problems, trails: trails.size };
}
