import { fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { TiercastError } from "#platform/errors.ts";
import { GSIS, TABLE_KEYS } from "#platform/table.ts";
import { LOCAL_AWS } from "./aws.ts";

export interface LocalDynamo {
  endpoint: string;
  /** The previous store process of this data dir did not stop cleanly (its CLI was killed). */
  dirty: boolean;
  stop(): Promise<void>;
}

/**
 * dynalite on 127.0.0.1 and a free port, in a child process (its own core); persisted under
 * dataDir/dynamodb, or in memory when dataDir is absent.
 */
export async function startDynamo(dataDir: string | undefined): Promise<LocalDynamo> {
  const options: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  const pidFile = dataDir ? join(dataDir, ".dynalite.pid") : undefined;
  // A clean stop removes the pid file: finding it means the last store process was cut off.
  const dirty = !!pidFile && existsSync(pidFile);
  if (dataDir) {
    const path = join(dataDir, "dynamodb");
    mkdirSync(path, { recursive: true, mode: 0o700 });
    options.path = path;
    // We hold the data dir's lock, so a store process still running for it is an orphan of a killed run.
    await killOrphan(pidFile!);
  }
  const child = fork(
    fileURLToPath(new URL("./dynalite-server.cjs", import.meta.url)),
    [JSON.stringify(options)],
    {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      // TIERCAST_STORE_PROFILE=dir writes a CPU profile of the store process (see the README's benchmark notes).
      execArgv: process.env.TIERCAST_STORE_PROFILE
        ? ["--cpu-prof", "--cpu-prof-dir", process.env.TIERCAST_STORE_PROFILE]
        : [],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port?: number; error?: string }) =>
      m.port ? resolve(m.port) : reject(new Error(m.error ?? "dynalite did not start")),
    );
    child.once("exit", (code) => reject(new Error(`dynalite exited (${code}): ${stderr.split("\n")[0]}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (pidFile && child.pid) writeFileSync(pidFile, String(child.pid), { mode: 0o600 });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dirty,
    async stop() {
      if (child.exitCode === null && child.connected) child.send("stop");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      if (pidFile) rmSync(pidFile, { force: true });
    },
  };
}

/** Creates the table when absent; returns the indexes an existing table lacks (dynalite cannot add one). */
export async function ensureTable(endpoint: string, tableName: string): Promise<string[]> {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      // A data dir made before an index existed gets it now (customers written before it: re-import them).
      const have = new Set((Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
      return GSIS.filter((g) => !have.has(g.indexName)).map((g) => g.indexName);
    } catch (err) {
      if ((err as Error).name !== "ResourceNotFoundException") throw err;
    }
    const attrs = new Set<string>([TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey]);
    for (const gsi of GSIS) {
      attrs.add(gsi.partitionKey);
      attrs.add(gsi.sortKey);
    }
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [...attrs].map((name) => ({ AttributeName: name, AttributeType: "S" })),
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: "HASH" },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: GSIS.map((gsi) => ({
          IndexName: gsi.indexName,
          KeySchema: [
            { AttributeName: gsi.partitionKey, KeyType: "HASH" },
            { AttributeName: gsi.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        })),
      }),
    );
    return [];
  } catch (err) {
    throw new TiercastError(`cannot prepare the local table: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
}

async function killOrphan(pidFile: string) {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8"));
  } catch {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!pid || !alive()) return;
  // It finishes the requests it took (their index and item writes) and exits: give it that time, and
  // kill it only if it hangs.
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 500 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!alive()) return;
  process.kill(pid, "SIGKILL");
  for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
}

type Item = Record<string, AttributeValue>;
const keyOf = (item: Item) => `${JSON.stringify(item.PK)}|${JSON.stringify(item.SK)}`;
const canonical = (item: Item) =>
  JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));

/**
 * Crash recovery for the embedded store. dynalite writes an item's index entries and the item as
 * separate LevelDB writes, so a store process cut off mid-request can leave an index entry stale,
 * missing, or pointing at a row that left the index. After such a stop, before anything else runs,
 * every index is compared with the table and each disagreeing item is written again through the
 * store (which rewrites its entries); an orphan entry is first taken over by the item, then dropped.
 * Returns how many items were repaired. Real DynamoDB needs none of this.
 */
export async function repairIndexes(
  endpoint: string,
  tableName: string,
  missing: string[] = [],
): Promise<number> {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  const scan = async (indexName?: string) => {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await client.send(
        new ScanCommand({ TableName: tableName, IndexName: indexName, ExclusiveStartKey: start }),
      );
      items.push(...((out.Items ?? []) as Item[]));
      start = out.LastEvaluatedKey as Item | undefined;
    } while (start);
    return items;
  };
  const put = (item: Item) => client.send(new PutItemCommand({ TableName: tableName, Item: item }));
  try {
    const table = new Map((await scan()).map((i) => [keyOf(i), i]));
    let repaired = 0;
    for (const gsi of GSIS.filter((g) => !missing.includes(g.indexName))) {
      const entries = new Map<string, Item[]>();
      for (const e of await scan(gsi.indexName)) entries.set(keyOf(e), [...(entries.get(keyOf(e)) ?? []), e]);
      const sameKey = (a: Item, b: Item) =>
        JSON.stringify(a[gsi.partitionKey]) === JSON.stringify(b[gsi.partitionKey]) &&
        JSON.stringify(a[gsi.sortKey]) === JSON.stringify(b[gsi.sortKey]);
      for (const [k, item] of table) {
        const found = entries.get(k) ?? [];
        entries.delete(k);
        const indexed = Boolean(item[gsi.partitionKey] && item[gsi.sortKey]);
        if (!indexed && found.length === 0) continue;
        if (
          indexed &&
          found.length === 1 &&
          sameKey(found[0]!, item) &&
          canonical(found[0]!) === canonical(item)
        )
          continue;
        // Each entry under another key than the item's: the item takes that key (the store overwrites
        // the entry), and its next write drops it. Then the item is written as it is.
        for (const entry of found.filter((e) => !indexed || !sameKey(e, item)))
          await put({
            ...item,
            [gsi.partitionKey]: entry[gsi.partitionKey]!,
            [gsi.sortKey]: entry[gsi.sortKey]!,
          });
        await put(item);
        repaired++;
      }
      // Entries whose item is gone altogether: recreate the item under them, then delete it.
      for (const orphans of entries.values())
        for (const entry of orphans) {
          await put(entry);
          await client.send(
            new DeleteItemCommand({ TableName: tableName, Key: { PK: entry.PK!, SK: entry.SK! } }),
          );
          repaired++;
        }
    }
    return repaired;
  } finally {
    client.destroy();
  }
}
