import type { Channel } from "#functions/campaign/schema.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import { type DispatchMessage, type RecipientRef, toMessages } from "#platform/queue.ts";
import type { Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

export interface ReleaseDeps {
  repo: Repo;
  shards: number;
  now: () => Date;
  enqueue: (channel: Channel, messages: DispatchMessage[]) => Promise<void>;
}

export interface Released {
  released: number;
  campaigns: Record<string, RecipientRef[]>;
}

/**
 * Moves every deferred row due at `now` back to queued and enqueues it (tick locally, a scheduled
 * function on AWS). The conditional update means two ticks racing release a row once.
 */
export async function releaseDue(deps: ReleaseDeps): Promise<Released> {
  const now = deps.now().toISOString();
  const out: Released = { released: 0, campaigns: {} };
  const byCampaignChannel = new Map<string, RecipientRef[]>();
  for (let shard = 0; shard < deps.shards; shard++) {
    for await (const item of deps.repo.queryAll(key.duePartition(shard), {
      indexName: "GSI3",
      skUpTo: `${now}#~`,
    })) {
      const row = item as unknown as LedgerRow;
      if (row.decision !== "deferred" || !row.dueAt || row.dueAt > now || !row.channel) continue;
      if (!(await ledger.releaseDeferred(deps.repo, row, now))) continue;
      const k = `${row.campaignId}\u0000${row.channel}`;
      const list = byCampaignChannel.get(k) ?? [];
      list.push({ customerId: row.customerId, shard: row.shard, tier: row.tier });
      byCampaignChannel.set(k, list);
      (out.campaigns[row.campaignId] ??= []).push({
        customerId: row.customerId,
        shard: row.shard,
        tier: row.tier,
      });
      out.released++;
    }
  }
  for (const [k, refs] of byCampaignChannel) {
    const [campaignId, channel] = k.split("\u0000") as [string, Channel];
    await deps.enqueue(channel, toMessages(campaignId, channel, refs));
  }
  return out;
}
