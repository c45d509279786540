import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";
import type { Channel } from "#functions/campaign/schema.ts";
import { LOCAL_AWS } from "./aws.ts";

export const CHANNEL_QUEUES: Record<Channel, string> = {
  sms: "tiercast-sms",
  email: "tiercast-email",
  "rm-task": "tiercast-rm",
};
export const dlqName = (queue: string) => `${queue}-dlq`;

export interface LocalQueues {
  endpoint: string;
  urls: Record<string, string>;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Messages in a queue right now (ready + delayed + in flight), without receiving them. */
  depth(name: string): number;
  stop(): Promise<void>;
}

interface SavedMessage {
  body: string;
  receiveCount: number;
}

/**
 * fauxqs on 127.0.0.1 with one queue per channel, each with a DLQ (redrive after maxReceiveCount).
 * SQS keeps messages across a process's life; so does this: messages still queued when the runtime
 * stops (typically the DLQs) are saved under the data dir and restored on the next start.
 */
export async function startQueues(
  dataDir: string | undefined,
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<LocalQueues> {
  // No `host` option: queue URLs then follow the request's host, i.e. plain http://127.0.0.1:<port>/….
  const server = await startFauxqs({ port: 0, logger: false });
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 2;
  const client = new SQSClient({
    ...LOCAL_AWS,
    endpoint: `http://127.0.0.1:${server.port}`,
    useQueueUrlAsEndpoint: false,
  });
  const urls: Record<string, string> = {};
  const create = async (name: string, attributes: Record<string, string>) => {
    const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    urls[name] = out.QueueUrl!;
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: out.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    return attrs.Attributes!.QueueArn!;
  };
  for (const queue of Object.values(CHANNEL_QUEUES)) {
    const dlqArn = await create(dlqName(queue), { MessageRetentionPeriod: "1209600" });
    await create(queue, {
      VisibilityTimeout: String(visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: String(maxReceiveCount),
      }),
    });
  }
  const savePath = dataDir ? join(dataDir, "queues.json") : undefined;
  if (savePath && existsSync(savePath)) {
    const saved = JSON.parse(readFileSync(savePath, "utf8")) as Record<string, SavedMessage[]>;
    for (const [name, messages] of Object.entries(saved)) {
      if (!urls[name]) continue;
      for (const m of messages)
        await client.send(new SendMessageCommand({ QueueUrl: urls[name], MessageBody: m.body }));
    }
  }
  client.destroy();
  const snapshot = (name: string) => {
    const q = server.inspectQueue(name);
    if (!q) return [];
    return [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((i) => i.message)];
  };
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    urls,
    maxReceiveCount,
    visibilityTimeoutSeconds,
    depth: (name) => snapshot(name).length,
    async stop() {
      if (savePath) {
        const saved: Record<string, SavedMessage[]> = {};
        for (const name of Object.keys(urls)) {
          const messages = snapshot(name).map((m) => ({
            body: m.body,
            receiveCount: m.approximateReceiveCount,
          }));
          if (messages.length) saved[name] = messages;
        }
        writeFileSync(savePath, JSON.stringify(saved), { mode: 0o600 });
      }
      await server.stop();
    },
  };
}
