import { Agent } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";

// Module-scope clients, created on first use so the runtime's endpoint settings (AWS_ENDPOINT_URL_*)
// are in place. On AWS these are the default endpoints; the embedded runtime points them at 127.0.0.1.
let ddb: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;

function requestHandler() {
  // Keep-alive with enough sockets for parallel shard queries and batch writes.
  return new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) });
}

/**
 * Provider clients (SES SendEmail, End User Messaging SendTextMessage) make one attempt: neither call
 * takes an idempotency token, so an SDK retry after an ambiguous 5xx or timeout could send twice. The
 * ledger decides what a failure becomes (retry through SQS, or unknown and never resent).
 */
export const PROVIDER_CLIENT_CONFIG = { maxAttempts: 1 } as const;

/** Store requests made by this process, by command (the benchmark reads requests per send from it). */
export const storeRequests: Record<string, number> = {};

export function documentClient(): DynamoDBDocumentClient {
  if (!ddb) {
    const client = new DynamoDBClient({ requestHandler: requestHandler(), maxAttempts: 8 });
    client.middlewareStack.add(
      (next, context) => (args) => {
        const name = String(context.commandName ?? "unknown");
        storeRequests[name] = (storeRequests[name] ?? 0) + 1;
        return next(args);
      },
      { step: "initialize", name: "tiercastRequestCount" },
    );
    ddb = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }
  return ddb;
}

export function sqsClient(): SQSClient {
  // The configured endpoint, not the QueueUrl's host, decides where requests go (same on AWS; needed locally).
  sqs ??= new SQSClient({ requestHandler: requestHandler(), useQueueUrlAsEndpoint: false });
  return sqs;
}

/** Drops cached clients (the embedded runtime calls this when it stops or moves to new endpoints). */
export function resetClients(): void {
  ddb?.destroy();
  sqs?.destroy();
  ddb = undefined;
  sqs = undefined;
}
