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
      return next(args);
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
