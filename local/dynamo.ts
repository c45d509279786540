import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createRequire } from "node:module";
import type { Server } from "node:http";
import { GSIS, TABLE_KEYS } from "#shared/table.ts";
import { TiercastError } from "#shared/errors.ts";

const require = createRequire(import.meta.url);
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/** dynalite on 127.0.0.1 and a free port; persisted under dataDir/dynamodb, or in memory when dataDir is absent. */
export async function startDynamo(dataDir: string | undefined): Promise<LocalDynamo> {
  const options: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, maxItemSizeKb: 400 };
  if (dataDir) {
    const path = join(dataDir, "dynamodb");
    mkdirSync(path, { recursive: true, mode: 0o700 });
    options.path = path;
  }
  const server = dynalite(options);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        // dynalite's close also closes its LevelDB store, releasing the directory lock.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint });
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
