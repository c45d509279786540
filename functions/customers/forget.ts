import { listCampaigns } from "#functions/campaign/record.ts";
import { eraseProfile, getCustomer } from "#functions/customers/store.ts";
import * as ledger from "#functions/ledger/transitions.ts";
import { scrubTask, taskIdOf } from "#functions/tasks/store.ts";
import { NotFoundError } from "#platform/errors.ts";
import { shardOf } from "#platform/hash.ts";
import type { Repo } from "#platform/repo.ts";

/**
 * Erases a customer's personal data (PIPL): name, contact details, birthday and referral link go from
 * the profile, and rendered messages go from every ledger row. What aggregates need stays: the id, tier,
 * branch and each decision (so funnels and counts do not change); RM tasks lose their note and script;
 * opt-outs stay too, so an erased
 * customer is never messaged again by mistake.
 */
export async function forgetCustomer(repo: Repo, shards: number, customerId: string, now: Date) {
  const profile = await getCustomer(repo, customerId);
  if (!profile) throw new NotFoundError(`no customer "${customerId}"`);
  await eraseProfile(repo, customerId, now);
  const shard = shardOf(customerId, shards);
  let scrubbed = 0;
  for (const campaign of await listCampaigns(repo)) {
    for (const campaignId of [campaign.campaignId, `${campaign.campaignId}-reminder`]) {
      const changed = await ledger.scrubMessage(repo, campaignId, shard, customerId, now);
      if (changed) scrubbed++;
    }
    // An RM task's note and script are about this person too.
    await scrubTask(repo, taskIdOf(campaign.campaignId, customerId), now.toISOString());
  }
  return { customerId, forgottenAt: now.toISOString(), ledgerRowsScrubbed: scrubbed };
}
