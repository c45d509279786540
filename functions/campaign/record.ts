import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Actor } from "#functions/access/users.ts";
import type { Campaign } from "#functions/campaign/schema.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "#platform/errors.ts";
import { conditional, isConditionFailed, type Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

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
  /**
   * Everyone who wrote a version since the last approval (creator, editors, submitter): none of them
   * may approve what they wrote (maker-checker holds for an admin too).
   */
  authors?: string[];
  /** The version this launch decides and renders, bound when the launch starts; later edits never reach it. */
  launchVersion?: number;
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
/** What the operator's CLI may relaunch with the same definition (a crash or a failed run). */
const RELAUNCHABLE: readonly CampaignStatus[] = ["launching", "launched", "failed", "paused"];

/** Every version's definition, immutable once written: a launch reads the one it bound. */
export const versionKey = (campaignId: string, version: number) => ({
  PK: `CAMP#${campaignId}`,
  SK: `V#${String(version).padStart(6, "0")}`,
});

const sameDefinition = (a: Campaign, b: Campaign) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates or replaces the definition; a new definition is a new version (approvals bind to a version).
 * The write is conditional on the version and status it read, so an edit racing a launch (or another
 * edit) loses with a ConflictError instead of overwriting a record that moved on.
 */
export async function saveCampaign(
  repo: Repo,
  campaign: Campaign,
  now: Date,
  actor?: Actor,
): Promise<CampaignRecord> {
  const existing = await findCampaign(repo, campaign.campaignId);
  const same = existing !== undefined && sameDefinition(existing.campaign, campaign);
  if (existing && same) return existing;
  if (existing && !EDITABLE.includes(existing.status) && (actor || !RELAUNCHABLE.includes(existing.status)))
    throw new ConflictError(
      `campaign "${campaign.campaignId}" is ${existing.status}: a launched campaign cannot be edited; copy it under a new campaignId`,
      "not_editable",
    );
  if (existing && !actor && RELAUNCHABLE.includes(existing.status))
    throw new ConflictError(
      `campaign "${campaign.campaignId}" was launched with version ${existing.launchVersion ?? existing.version}; this file differs from it: launch it under a new campaignId`,
      "not_editable",
    );
  const version = (existing?.version ?? 0) + 1;
  const author = actor?.userId;
  const record: CampaignRecord = {
    ...(existing ?? {}),
    campaignId: campaign.campaignId,
    campaign,
    // Without an actor this is the operator's CLI path (launch runs straight away); through the API an edit sends it back to draft.
    status: existing && !actor ? existing.status : "draft",
    version,
    createdAt: existing?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    ...(existing?.createdBy || author ? { createdBy: existing?.createdBy ?? author } : {}),
    ...(author ? { updatedBy: author } : {}),
    ...(existing?.branchId || actor?.branchId ? { branchId: existing?.branchId ?? actor?.branchId } : {}),
  };
  const authors = new Set(existing?.approval?.version === existing?.version ? [] : (existing?.authors ?? []));
  if (existing?.createdBy) authors.add(existing.createdBy);
  if (author) authors.add(author);
  if (authors.size) record.authors = [...authors];
  if (actor) {
    delete record.approval;
    delete record.submittedBy;
  }
  await putVersion(repo, campaign, version, now);
  try {
    await repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...key.campaign(campaign.campaignId), type: "campaign", ...record },
        ConditionExpression: existing ? "version = :v AND #status = :s" : "attribute_not_exists(PK)",
        ...(existing
          ? {
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":v": existing.version, ":s": existing.status },
            }
          : {}),
      }),
    );
  } catch (err) {
    if (isConditionFailed(err))
      throw new ConflictError(
        `campaign "${campaign.campaignId}" changed meanwhile (launched, edited or approved); reload and try again`,
        "changed_meanwhile",
      );
    throw err;
  }
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

/** Writes a version's definition once; a retry of the same version with the same definition is a no-op. */
async function putVersion(repo: Repo, campaign: Campaign, version: number, now: Date) {
  const written = await conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: {
          ...versionKey(campaign.campaignId, version),
          type: "campaignVersion",
          version,
          campaign,
          at: now.toISOString(),
        },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    ),
  );
  if (written) return;
  const stored = await repo.get<{ campaign: Campaign }>(versionKey(campaign.campaignId, version));
  if (!stored || !sameDefinition(stored.campaign, campaign))
    throw new ConflictError(
      `campaign "${campaign.campaignId}" changed meanwhile (version ${version} exists); reload and try again`,
      "changed_meanwhile",
    );
}

/**
 * The definition a launch works from: the version bound at its start (falling back to the record for
 * campaigns written before versions were kept). Immutable, so callers may cache it by (id, version).
 */
export async function launchDefinition(
  repo: Repo,
  record: CampaignRecord,
): Promise<{ version: number; campaign: Campaign }> {
  const version = record.launchVersion ?? record.version;
  if (version === record.version) return { version, campaign: record.campaign };
  const stored = await repo.get<{ campaign: Campaign }>(versionKey(record.campaignId, version));
  if (!stored) throw new NotFoundError(`campaign "${record.campaignId}" has no version ${version}`);
  return { version, campaign: stored.campaign };
}

/**
 * Binds the launch to a version and moves the campaign to launching, in one conditional write. Through
 * the API the campaign is `approved` and the approved version is bound; the operator's CLI launches
 * the current version of a campaign it saved (or resumes one already bound).
 */
export async function bindLaunch(repo: Repo, record: CampaignRecord, at: string): Promise<number> {
  if (record.status === "launching" && record.launchVersion !== undefined) return record.launchVersion;
  const version = record.status === "approved" ? record.approval!.version : record.version;
  const moved = await conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: key.campaign(record.campaignId),
        UpdateExpression:
          "SET #status = :launching, launchVersion = :lv, launchedAt = if_not_exists(launchedAt, :at)",
        ConditionExpression: "version = :v AND #status = :s",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":launching": "launching",
          ":lv": version,
          ":at": at,
          ":v": record.version,
          ":s": record.status,
        },
      }),
    ),
  );
  if (!moved)
    throw new ConflictError(
      `campaign "${record.campaignId}" changed while its launch started; reload and try again`,
      "changed_meanwhile",
    );
  return version;
}

/**
 * A scheduled run: a copy of an approved campaign under its own id, written once (a second firing, or
 * two schedulers racing, find it and return undefined). Its approval carries over, bound to version 1.
 */
export async function createScheduledRun(
  repo: Repo,
  template: CampaignRecord,
  run: { campaignId: string; campaign: Campaign; firedAt: Date; createdBy: string },
): Promise<CampaignRecord | undefined> {
  const at = run.firedAt.toISOString();
  const record: CampaignRecord = {
    campaignId: run.campaignId,
    campaign: run.campaign,
    status: "launching",
    version: 1,
    launchVersion: 1,
    createdAt: at,
    updatedAt: at,
    createdBy: run.createdBy,
    approval: {
      ...template.approval!,
      version: 1,
      note: `approved as ${template.campaignId} v${template.version}`,
    },
    ...(template.branchId ? { branchId: template.branchId } : {}),
  };
  const created = await conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...key.campaign(run.campaignId), type: "campaign", ...record },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    ),
  );
  if (!created) return undefined;
  await putVersion(repo, run.campaign, 1, run.firedAt);
  await repo.put({
    PK: "CAMPAIGNS",
    SK: run.campaignId,
    playbook: run.campaign.playbook,
    createdAt: at,
    ...(record.branchId ? { branchId: record.branchId } : {}),
  });
  return record;
}

/**
 * Sets the status (and fields). With `from`, only if the status is one of those: returns false when
 * it was not (someone paused or cancelled in between), so a transition never overwrites a newer one.
 */
/** The one status write: conditional on the statuses it may leave (and on the version, when given). */
async function setCampaignStatus(
  repo: Repo,
  campaignId: string,
  status: CampaignStatus,
  fields: Record<string, unknown> = {},
  from?: readonly CampaignStatus[],
  /** Only if the record is still at this version (an edit in between makes the transition lose). */
  expectVersion?: number,
): Promise<boolean> {
  const names: Record<string, string> = { "#status": "status" };
  const values: Record<string, unknown> = { ":status": status };
  const sets = ["#status = :status"];
  for (const [k, v] of Object.entries(fields)) {
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    sets.push(`#${k} = :${k}`);
  }
  if (expectVersion !== undefined) values[":expectVersion"] = expectVersion;
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
        ConditionExpression: [
          from ? `#status IN (${fromValues.join(", ")})` : "attribute_exists(PK)",
          ...(expectVersion === undefined ? [] : ["version = :expectVersion"]),
        ].join(" AND "),
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
 * returns the status and fields to write. Pure: `applyTransition` writes them.
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
  if (action === "submit") {
    fields.submittedBy = actor.userId;
    fields.authors = [...new Set([...(record.authors ?? []), actor.userId])];
  }
  if (action === "approve" || action === "reject") {
    const wrote = new Set([record.createdBy, record.submittedBy, ...(record.authors ?? [])]);
    if (wrote.has(actor.userId))
      throw new ForbiddenError(
        `${actor.userId} created, edited or submitted "${record.campaignId}" and cannot ${action} it: another approver must`,
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
  if (action === "launch") fields.launchVersion = record.version;
  return { status: TO[action], fields, from };
}

export type TransitionPlan = ReturnType<typeof planTransition>;

/**
 * Writes a planned transition, only if the record is still at the status and version it was planned
 * on: an edit or another transition in between makes this one lose (false).
 */
export function applyTransition(repo: Repo, record: CampaignRecord, plan: TransitionPlan): Promise<boolean> {
  return setCampaignStatus(repo, record.campaignId, plan.status, plan.fields, plan.from, record.version);
}

/** A launch whose workflow could not be started goes back to `approved` (only from `launching`). */
export function revertLaunch(repo: Repo, campaignId: string): Promise<boolean> {
  return setCampaignStatus(repo, campaignId, "approved", {}, ["launching"]);
}

/**
 * The launch workflow's end: `launching → launched` (or `failed`) with its summary. A campaign paused
 * or cancelled while it launched keeps that status; only its summary (and error) are stored.
 */
export async function finishLaunch(
  repo: Repo,
  campaignId: string,
  outcome: { failed: boolean; summary: Record<string, number>; error?: string },
): Promise<void> {
  const fields = { summary: outcome.summary, ...(outcome.error ? { error: outcome.error } : {}) };
  const moved = await setCampaignStatus(repo, campaignId, outcome.failed ? "failed" : "launched", fields, [
    "launching",
  ]).catch((err) => {
    if (!outcome.failed) throw err;
    return true;
  });
  if (moved) return;
  const current = await loadCampaign(repo, campaignId);
  await setCampaignStatus(repo, campaignId, current.status, fields, [current.status]);
}

/** Test and drill support: puts a campaign straight into a status (no lifecycle rules). */
export function forceCampaignStatus(repo: Repo, campaignId: string, status: CampaignStatus) {
  return setCampaignStatus(repo, campaignId, status);
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
