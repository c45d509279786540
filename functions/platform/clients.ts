import { Agent } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/**
 * Where a client sends its requests. Empty on AWS (the SDK's defaults); the embedded runtime gives
 * its 127.0.0.1 endpoints, a region and dummy credentials.
 */
export interface ClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function requestHandler() {
  // Keep-alive with enough sockets for parallel shard queries and batch writes.
  return new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) });
}

const defined = (o: ClientOptions) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ClientOptions;

/**
 * Provider clients (SES SendEmail, End User Messaging SendTextMessage) make one attempt: neither call
 * takes an idempotency token, so an SDK retry after an ambiguous 5xx or timeout could send twice. The
 * ledger decides what a failure becomes (retry through SQS, or unknown and never resent).
 */
export const PROVIDER_CLIENT_CONFIG = { maxAttempts: 1 } as const;

/** Store requests made by this process, by command (the benchmark reads requests per send from it). */
export const storeRequests: Record<string, number> = {};
/**
 * Items those requests wrote and read, by command: a transaction or a batch is one request but many
 * items, and each item is the store's work (its lock, read, write and index entries), so the benchmark
 * reads items per send beside requests per send. Reads count the keys asked for and the items a query
 * or scan examined.
 */
export const storeItems: {
  written: Record<string, number>;
  read: Record<string, number>;
  /** Items written by kind: `<command>:<PK prefix>` (LEDGER, CUST, FUNNEL, ...), for the scale model's itemization. */
  writtenByKind: Record<string, number>;
} = { written: {}, read: {}, writtenByKind: {} };

type Input = Record<string, unknown> & {
  TransactItems?: Record<string, unknown>[];
  RequestItems?: Record<string, unknown[] | { Keys?: unknown[] }>;
};

type Op = { Item?: Record<string, unknown>; Key?: Record<string, unknown> };
const prefixOf = (op: Op | undefined) => {
  const pk = (op?.Item ?? op?.Key)?.PK as string | { S?: string } | undefined;
  const text = typeof pk === "string" ? pk : (pk?.S ?? "?");
  return text.split("#")[0] ?? "?";
};

/** The PK prefix of every item a write request writes (a transaction's condition checks are no write). */
export function writtenPrefixes(name: string, input: Input): string[] {
  if (name === "TransactWriteItemsCommand")
    return (input.TransactItems ?? []).flatMap((t) => {
      const op = (t.Put ?? t.Update ?? t.Delete) as Op | undefined;
      return op ? [prefixOf(op)] : [];
    });
  if (name === "BatchWriteItemCommand")
    return Object.values(input.RequestItems ?? {}).flatMap((r) =>
      Array.isArray(r)
        ? r.map((w) => {
            const req = w as { PutRequest?: Op; DeleteRequest?: Op };
            return prefixOf(req.PutRequest ?? req.DeleteRequest);
          })
        : [],
    );
  if (name === "PutItemCommand" || name === "UpdateItemCommand" || name === "DeleteItemCommand")
    return [prefixOf(input as Op)];
  return [];
}

/** How many items a request writes and reads before its answer (a query's are counted from its answer). */
export function itemsOf(name: string, input: Input): { written: number; read: number } {
  switch (name) {
    case "TransactWriteItemsCommand":
      return {
        written: (input.TransactItems ?? []).filter((t) => !("ConditionCheck" in t)).length,
        read: 0,
      };
    case "BatchWriteItemCommand":
      return {
        written: Object.values(input.RequestItems ?? {}).reduce(
          (n, r) => n + (Array.isArray(r) ? r.length : 0),
          0,
        ),
        read: 0,
      };
    case "BatchGetItemCommand":
      return {
        written: 0,
        read: Object.values(input.RequestItems ?? {}).reduce(
          (n, r) => n + (Array.isArray(r) ? 0 : (r.Keys?.length ?? 0)),
          0,
        ),
      };
    case "PutItemCommand":
    case "UpdateItemCommand":
    case "DeleteItemCommand":
      return { written: 1, read: 0 };
    case "GetItemCommand":
      return { written: 0, read: 1 };
    default:
      return { written: 0, read: 0 };
  }
}

const addTo = (counts: Record<string, number>, name: string, n: number) => {
  if (n > 0) counts[name] = (counts[name] ?? 0) + n;
};

export function documentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...defined(options),
    requestHandler: requestHandler(),
    maxAttempts: 8,
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = String(context.commandName ?? "unknown");
      storeRequests[name] = (storeRequests[name] ?? 0) + 1;
      const items = itemsOf(name, args.input as Input);
      addTo(storeItems.written, name, items.written);
      addTo(storeItems.read, name, items.read);
      for (const prefix of writtenPrefixes(name, args.input as Input))
        addTo(storeItems.writtenByKind, `${name.replace(/Command$/, "")}:${prefix}`, 1);
      return next(args).then((out) => {
        const scanned = (out.output as { ScannedCount?: number }).ScannedCount;
        if (typeof scanned === "number") addTo(storeItems.read, name, scanned);
        return out;
      });
    },
    { step: "initialize", name: "tiercastRequestCount" },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function sqsClient(options: ClientOptions = {}): SQSClient {
  // The configured endpoint, not the QueueUrl's host, decides where requests go (same on AWS; needed locally).
  return new SQSClient({
    ...defined(options),
    requestHandler: requestHandler(),
    useQueueUrlAsEndpoint: false,
  });
}
