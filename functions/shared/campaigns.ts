import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Campaign } from "#functions/campaign/schema.ts";
import { NotFoundError } from "./errors.ts";
import type { Repo } from "./repo.ts";
import { key } from "./table.ts";

export type CampaignStatus = "draft" | "launching" | "launched" | "failed";

export interface CampaignRecord {
  campaignId: string;
  campaign: Campaign;
  status: CampaignStatus;
  version: number;
  createdAt: string;
  updatedAt: string;
  launchedAt?: string;
  summary?: Record<string, number>;
  error?: string;
}

export async function loadCampaign(repo: Repo, campaignId: string): Promise<CampaignRecord> {
  const item = await repo.get<CampaignRecord>(key.campaign(campaignId));
  if (!item) throw new NotFoundError(`no campaign "${campaignId}"`);
  return item;
}

/** Creates or replaces the definition; a new definition is a new version (approvals bind to a version). */
export async function saveCampaign(repo: Repo, campaign: Campaign, now: Date): Promise<CampaignRecord> {
  const existing = await repo.get<CampaignRecord>(key.campaign(campaign.campaignId));
  const same = existing && JSON.stringify(existing.campaign) === JSON.stringify(campaign);
  const record: CampaignRecord = {
    campaignId: campaign.campaignId,
    campaign,
    status: existing?.status ?? "draft",
    version: same ? existing.version : (existing?.version ?? 0) + 1,
    createdAt: existing?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    ...(existing?.launchedAt ? { launchedAt: existing.launchedAt } : {}),
  };
  await repo.put({ ...key.campaign(campaign.campaignId), type: "campaign", ...record });
  // A small listing item, so reports can find campaigns by playbook without a scan.
  await repo.put({
    PK: "CAMPAIGNS",
    SK: campaign.campaignId,
    playbook: campaign.playbook,
    createdAt: record.createdAt,
  });
  return record;
}

export async function setCampaignStatus(
  repo: Repo,
  campaignId: string,
  status: CampaignStatus,
  fields: Record<string, unknown> = {},
) {
  const names: Record<string, string> = { "#status": "status" };
  const values: Record<string, unknown> = { ":status": status };
  const sets = ["#status = :status"];
  for (const [k, v] of Object.entries(fields)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: key.campaign(campaignId),
      UpdateExpression: `SET ${sets.join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

export async function listCampaigns(
  repo: Repo,
): Promise<{ campaignId: string; playbook: string; createdAt: string }[]> {
  const out: { campaignId: string; playbook: string; createdAt: string }[] = [];
  for await (const item of repo.queryAll("CAMPAIGNS"))
    out.push({
      campaignId: String(item.SK),
      playbook: String(item.playbook),
      createdAt: String(item.createdAt),
    });
  return out;
}
