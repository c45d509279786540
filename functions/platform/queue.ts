import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Channel } from "#functions/campaign/schema.ts";
import { mapLimit } from "./repo.ts";

export interface RecipientRef {
  customerId: string;
  shard: number;
  /** For the per-tier send metrics only; the ledger row stays the truth. */
  tier?: string;
}

/** One SQS message carries up to RECIPIENTS_PER_MESSAGE recipients of one campaign and channel. */
export interface DispatchMessage {
  campaignId: string;
  channel: Channel;
  recipients: RecipientRef[];
}

export const RECIPIENTS_PER_MESSAGE = 10;

/** SendMessageBatch in tens; failed entries are retried, then reported. */
export async function enqueue(
  sqs: SQSClient,
  queueUrl: string,
  messages: DispatchMessage[],
  options: { delaySeconds?: number } = {},
): Promise<void> {
  const batches: DispatchMessage[][] = [];
  for (let i = 0; i < messages.length; i += 10) batches.push(messages.slice(i, i + 10));
  await mapLimit(batches, 4, async (batch) => {
    let entries = batch.map((m, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify(m),
      ...(options.delaySeconds ? { DelaySeconds: Math.min(900, Math.round(options.delaySeconds)) } : {}),
    }));
    for (let attempt = 0; entries.length > 0; attempt++) {
      if (attempt > 5) throw new Error(`SQS: ${entries.length} messages could not be enqueued`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
    }
  });
}

export function toMessages(campaignId: string, channel: Channel, refs: RecipientRef[]): DispatchMessage[] {
  const out: DispatchMessage[] = [];
  for (let i = 0; i < refs.length; i += RECIPIENTS_PER_MESSAGE)
    out.push({ campaignId, channel, recipients: refs.slice(i, i + RECIPIENTS_PER_MESSAGE) });
  return out;
}
