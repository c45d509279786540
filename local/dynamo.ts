import { fork } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { TiercastError } from "#platform/errors.ts";
import { GSIS, TABLE_KEYS } from "#platform/table.ts";
import { LOCAL_AWS } from "./aws.ts";

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * dynalite on 127.0.0.1 and a free port, in a child process (its own core); persisted under
 * dataDir/dynamodb, or in memory when dataDir is absent.
 */
export async function startDynamo(dataDir: string | undefined): Promise<LocalDynamo> {
  const options: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  const pidFile = dataDir ? join(dataDir, ".dynalite.pid") : undefined;
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
    async stop() {
      if (child.exitCode === null && child.connected) child.send("stop");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      if (pidFile) rmSync(pidFile, { force: true });
    },
  };
}

export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      return;
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
