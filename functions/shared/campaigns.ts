import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Campaign } from "#functions/campaign/schema.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "./errors.ts";
import { conditional, type Repo } from "./repo.ts";
import { key } from "./table.ts";
import type { Actor } from "./users.ts";

/**
 * draft → submitted → approved → launching → launched ⇄ paused; rejected goes back to draft by an edit;
 * any state before the end can be cancelled. An edit makes a new version and drops the approval.
 */
export const CAMPAIGN_STATUSES = [
  "draft",
  "submitted",
  "approved",
  "rejected",
  "launching",
  "launched",
  "paused",
  "cancelled",
  "failed",
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export interface CampaignRecord {
  campaignId: string;
  campaign: Campaign;
  status: CampaignStatus;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy?: string;
  updatedBy?: string;
  /** The branch a branch user created it for; only that branch's users see it. */
  branchId?: string;
  submittedBy?: string;
  approval?: { version: number; by: string; at: string; note?: string };
  rejection?: { version: number; by: string; at: string; note?: string };
  launchedAt?: string;
  summary?: Record<string, number>;
  error?: string;
}

export async function findCampaign(repo: Repo, campaignId: string): Promise<CampaignRecord | undefined> {
  const item = await repo.get<CampaignRecord & { PK?: string; SK?: string; type?: string }>(
    key.campaign(campaignId),
  );
  if (!item) return undefined;
  const { PK: _pk, SK: _sk, type: _type, ...record } = item;
  return record;
}

export async function loadCampaign(repo: Repo, campaignId: string): Promise<CampaignRecord> {
  const item = await findCampaign(repo, campaignId);
  if (!item) throw new NotFoundError(`no campaign "${campaignId}"`);
  return item;
}

const EDITABLE: readonly CampaignStatus[] = ["draft", "submitted", "approved", "rejected"];

/** Creates or replaces the definition; a new definition is a new version (approvals bind to a version). */
export async function saveCampaign(
  repo: Repo,
  campaign: Campaign,
  now: Date,
  actor?: Actor,
): Promise<CampaignRecord> {
  const existing = await findCampaign(repo, campaign.campaignId);
  const same = existing && JSON.stringify(existing.campaign) === JSON.stringify(campaign);
  if (existing && !same && actor && !EDITABLE.includes(existing.status))
    throw new ConflictError(
      `campaign "${campaign.campaignId}" is ${existing.status}: a launched campaign cannot be edited; copy it under a new campaignId`,
      "not_editable",
    );
  const record: CampaignRecord = {
    ...(existing ?? {}),
    campaignId: campaign.campaignId,
    campaign,
    // Without an actor this is the operator's CLI path (launch runs straight away); through the API an edit sends it back to draft.
    status: existing ? (same || !actor ? existing.status : "draft") : "draft",
    version: same ? existing.version : (existing?.version ?? 0) + 1,
    createdAt: existing?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    ...(existing?.createdBy || actor ? { createdBy: existing?.createdBy ?? actor?.userId } : {}),
    ...(actor ? { updatedBy: actor.userId } : {}),
    ...(existing?.branchId || actor?.branchId ? { branchId: existing?.branchId ?? actor?.branchId } : {}),
  };
  if (!same && actor) {
    delete record.approval;
    delete record.submittedBy;
  }
  await repo.put({ ...key.campaign(campaign.campaignId), type: "campaign", ...record });
  // A small listing item, so reports and the console can list campaigns without a scan.
  await repo.put({
    PK: "CAMPAIGNS",
    SK: campaign.campaignId,
    playbook: campaign.playbook,
    createdAt: record.createdAt,
    ...(record.branchId ? { branchId: record.branchId } : {}),
  });
  return record;
}

/**
 * Sets the status (and fields). With `from`, only if the status is one of those: returns false when
 * it was not (someone paused or cancelled in between), so a transition never overwrites a newer one.
 */
export async function setCampaignStatus(
  repo: Repo,
  campaignId: string,
  status: CampaignStatus,
  fields: Record<string, unknown> = {},
  from?: readonly CampaignStatus[],
): Promise<boolean> {
  const names: Record<string, string> = { "#status": "status" };
  const values: Record<string, unknown> = { ":status": status };
  const sets = ["#status = :status"];
  for (const [k, v] of Object.entries(fields)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  const fromValues = (from ?? []).map((s, i) => {
    values[`:from${i}`] = s;
    return `:from${i}`;
  });
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: key.campaign(campaignId),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: from ? `#status IN (${fromValues.join(", ")})` : "attribute_exists(PK)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

export const CAMPAIGN_ACTIONS = [
  "submit",
  "approve",
  "reject",
  "launch",
  "pause",
  "resume",
  "cancel",
] as const;
export type CampaignAction = (typeof CAMPAIGN_ACTIONS)[number];

const FROM: Record<CampaignAction, readonly CampaignStatus[]> = {
  submit: ["draft", "rejected"],
  approve: ["submitted"],
  reject: ["submitted"],
  launch: ["approved"],
  pause: ["launching", "launched"],
  resume: ["paused"],
  cancel: ["draft", "submitted", "approved", "rejected", "launching", "launched", "paused"],
};
const TO: Record<CampaignAction, CampaignStatus> = {
  submit: "submitted",
  approve: "approved",
  reject: "rejected",
  launch: "launching",
  pause: "paused",
  resume: "launched",
  cancel: "cancelled",
};

/**
 * Checks a lifecycle action against the rules (maker-checker, approval of the current version) and
 * returns the status and fields to write. Pure: the caller writes them with `setCampaignStatus(…, from)`.
 */
export function planTransition(
  record: CampaignRecord,
  action: CampaignAction,
  actor: Actor,
  now: Date,
  note?: string,
): { status: CampaignStatus; fields: Record<string, unknown>; from: readonly CampaignStatus[] } {
  const from = FROM[action];
  if (!from.includes(record.status))
    throw new ConflictError(
      `cannot ${action} campaign "${record.campaignId}": it is ${record.status} (${action} needs ${from.join(" or ")})`,
      "invalid_transition",
    );
  const at = now.toISOString();
  const fields: Record<string, unknown> = { updatedAt: at, updatedBy: actor.userId };
  if (action === "submit") fields.submittedBy = actor.userId;
  if (action === "approve" || action === "reject") {
    if (actor.userId === record.createdBy || actor.userId === record.submittedBy)
      throw new ForbiddenError(
        `${actor.userId} created or submitted "${record.campaignId}" and cannot ${action} it: another approver must`,
        "self_approval",
      );
    fields[action === "approve" ? "approval" : "rejection"] = {
      version: record.version,
      by: actor.userId,
      at,
      ...(note ? { note } : {}),
    };
  }
  if (action === "launch" && record.approval?.version !== record.version)
    throw new ConflictError(
      `campaign "${record.campaignId}" version ${record.version} is not approved (approved: ${record.approval?.version ?? "none"})`,
      "not_approved",
    );
  return { status: TO[action], fields, from };
}

export interface CampaignListing {
  campaignId: string;
  playbook: string;
  createdAt: string;
  branchId?: string;
}

export async function listCampaigns(repo: Repo): Promise<CampaignListing[]> {
  const out: CampaignListing[] = [];
  for await (const item of repo.queryAll("CAMPAIGNS"))
    out.push({
      campaignId: String(item.SK),
      playbook: String(item.playbook),
      createdAt: String(item.createdAt),
      ...(item.branchId ? { branchId: String(item.branchId) } : {}),
    });
  return out;
}
