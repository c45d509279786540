import { type CampaignRecord, findCampaign, listCampaigns } from "#functions/campaign/record.ts";
import { type Campaign, IMPORT_PLAYBOOKS } from "#functions/campaign/schema.ts";
import { type Customer, tierInScheme } from "#functions/customers/record.ts";
import type { CustomerChange } from "#functions/customers/store.ts";
import { advanceStage } from "#functions/funnel/counters.ts";
import { readRows } from "#functions/ledger/reads.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import type { TiercastConfig } from "#platform/config.ts";
import type { Repo } from "#platform/repo.ts";

const DAY = 86_400_000;
const fen = (amount: number) => Math.round(amount * 100);

/** Whether the campaign converts on a later import (its playbook's rule, or its goal), not on an event. */
export function convertsOnImport(campaign: Pick<Campaign, "playbook" | "goal">): boolean {
  if (campaign.goal) return campaign.goal.kind !== "deposit";
  return IMPORT_PLAYBOOKS.has(campaign.playbook);
}

/**
 * Does this import's record convert the recipient? The campaign's goal if it has one; otherwise the
 * playbook's rule: tier-upgrade and card-upgrade, a higher tier of the segment's scheme than at launch
 * (the row's tier); asset-retention, AUM back at the level it had fallen from (the row's goalAum).
 */
export function importConverts(
  campaign: Pick<Campaign, "playbook" | "goal" | "segment">,
  row: Pick<LedgerRow, "tier" | "goalAum">,
  after: Customer,
  config: TiercastConfig,
): boolean {
  const scheme = config.tierSchemes[campaign.segment.scheme];
  const rank = (tier: string | undefined) => scheme?.tiers.findIndex((t) => t.name === tier) ?? -1;
  const now = rank(tierInScheme(after, campaign.segment.scheme));
  const goal = campaign.goal;
  if (goal?.kind === "tier") return now >= 0 && now >= rank(goal.tier);
  if (goal?.kind === "aum-growth" || (!goal && campaign.playbook === "asset-retention"))
    return row.goalAum !== undefined && fen(after.aum) >= fen(row.goalAum);
  if (!goal && (campaign.playbook === "tier-upgrade" || campaign.playbook === "card-upgrade"))
    return now > rank(row.tier) && rank(row.tier) >= 0;
  return false;
}

/** A recipient that can convert at `at`: sent (or unknown) or held out, within the attribution window. */
function attributable(row: LedgerRow, campaign: Campaign, at: Date): boolean {
  if (!row.holdout && row.decision !== "sent" && row.decision !== "unknown") return false;
  const since = Date.parse(row.sentAt ?? row.decidedAt);
  const t = at.getTime();
  return t >= since && t - since <= (campaign.attributionDays ?? 30) * DAY;
}

/**
 * The growth conversions of one import: the launched campaigns that convert on an import are found
 * once, and each batch's changed customers are checked against their ledger rows. A conversion moves
 * the row through the funnel's owner (advanceStage: once per recipient, counted once), treated and
 * holdout alike, so the uplift compares like with like.
 */
export function importConversions(repo: Repo, config: TiercastConfig, at: Date) {
  let campaigns: Promise<CampaignRecord[]> | undefined;
  const active = async () => {
    const listed = await listCampaigns(repo);
    const records = await Promise.all(listed.map((c) => findCampaign(repo, c.campaignId)));
    return records.filter(
      (r): r is CampaignRecord =>
        r !== undefined &&
        (r.status === "launched" || r.status === "paused" || r.status === "launching") &&
        convertsOnImport(r.campaign) &&
        (!r.launchedAt ||
          at.getTime() - Date.parse(r.launchedAt) <= ((r.campaign.attributionDays ?? 30) + 366) * DAY),
    );
  };
  let converted = 0;
  return {
    get converted() {
      return converted;
    },
    async apply(changes: readonly CustomerChange[]): Promise<number> {
      if (changes.length === 0) return 0;
      campaigns ??= active();
      const list = await campaigns;
      if (list.length === 0) return 0;
      let n = 0;
      for (const record of list) {
        const rows = await readRows(
          repo,
          changes.map((c) => ({
            campaignId: record.campaignId,
            shard: c.after.shard,
            customerId: c.after.customerId,
          })),
        );
        for (const [i, row] of rows.entries()) {
          const change = changes[i]!;
          if (!row || !attributable(row, record.campaign, at)) continue;
          if (!importConverts(record.campaign, row, change.after, config)) continue;
          const opId = `import#${at.toISOString()}#${record.campaignId}#${row.customerId}`;
          if (await advanceStage(repo, row, "converted", at, {}, opId)) n++;
        }
      }
      converted += n;
      return n;
    },
  };
}
