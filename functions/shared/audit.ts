import { createHash } from "node:crypto";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { conditional, type Repo } from "./repo.ts";
import type { Actor } from "./users.ts";

export interface AuditEntry {
  entity: "campaign" | "schedule" | "user" | "import" | "events" | "target";
  entityId: string;
  action: string;
  actor: Pick<Actor, "userId" | "role"> & { branchId?: string };
  at: string;
  before?: unknown;
  after?: unknown;
  note?: string;
}

export interface StoredAuditEntry extends AuditEntry {
  seq: number;
  /** sha256 over the previous entry's hash and this entry: an edit made behind the API breaks the chain. */
  hash: string;
  prevHash: string;
}

const partition = (e: Pick<AuditEntry, "entity" | "entityId">) => `AUDIT#${e.entity}#${e.entityId}`;
const seqKey = (seq: number) => String(seq).padStart(10, "0");
const GENESIS = "0".repeat(64);

export function entryHash(prevHash: string, e: AuditEntry & { seq: number }): string {
  const { entity, entityId, action, actor, at, before, after, note, seq } = e;
  return createHash("sha256")
    .update(prevHash)
    .update(JSON.stringify({ entity, entityId, action, actor, at, before, after, note, seq }))
    .digest("hex");
}

async function last(repo: Repo, pk: string): Promise<StoredAuditEntry | undefined> {
  const out = await repo.ddb.send(
    new QueryCommand({
      TableName: repo.table,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return out.Items?.[0] as StoredAuditEntry | undefined;
}

/**
 * Appends one entry. Entries are numbered per entity and written only if their number is free, so
 * two concurrent writers cannot overwrite each other (the loser takes the next number). There is no
 * update or delete path in the code, and on AWS the API's role is denied both on AUDIT# keys.
 */
export async function appendAudit(repo: Repo, entry: AuditEntry): Promise<StoredAuditEntry> {
  const pk = partition(entry);
  for (let attempt = 0; attempt < 10; attempt++) {
    const prev = await last(repo, pk);
    const seq = (prev?.seq ?? 0) + 1;
    const prevHash = prev?.hash ?? GENESIS;
    const stored: StoredAuditEntry = {
      ...entry,
      seq,
      prevHash,
      hash: entryHash(prevHash, { ...entry, seq }),
    };
    const clean = JSON.parse(JSON.stringify(stored)) as StoredAuditEntry;
    const won = await conditional(
      repo.ddb.send(
        new PutCommand({
          TableName: repo.table,
          Item: { PK: pk, SK: seqKey(seq), ...clean },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      ),
    );
    if (won) return clean;
  }
  throw new Error(`audit log of ${pk} is contended`);
}

/** The trail of one entity, oldest first, with whether its hash chain is intact. */
export async function readAudit(
  repo: Repo,
  entity: AuditEntry["entity"],
  entityId: string,
): Promise<{ entries: StoredAuditEntry[]; intact: boolean }> {
  const entries: StoredAuditEntry[] = [];
  for await (const item of repo.queryAll(partition({ entity, entityId }))) {
    const { PK: _pk, SK: _sk, ...rest } = item;
    entries.push(rest as unknown as StoredAuditEntry);
  }
  let prevHash = GENESIS;
  let intact = true;
  for (const e of entries) {
    if (e.prevHash !== prevHash || entryHash(prevHash, e) !== e.hash) intact = false;
    prevHash = e.hash;
  }
  return { entries, intact };
}
