import { createHash } from "node:crypto";
import { z } from "zod";
import { type AuditAnchor, type AuditWriter, appendAudit } from "#functions/audit/store.ts";
import { type CampaignRecord, createScheduledRun, findCampaign } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { localTime } from "#functions/campaign/time.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { InputError } from "#platform/errors.ts";
import type { Repo } from "#platform/repo.ts";
import { CronError, nextRun, parseCron } from "./cron.ts";
import * as store from "./store.ts";
import { scheduleItemKey } from "./store.ts";

export const Schedule = z.object({
  scheduleId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/, "1-48 letters, digits, - or _"),
  /** The approved campaign each run copies (its approval covers the runs). */
  campaignId: z.string().min(1),
  /** Five fields, in Asia/Shanghai: "0 10 1 * *" = 10:00 on the 1st of every month. */
  cron: z.string().min(1),
  /** Only run on the holidays of the config's calendar (holiday greetings). */
  holidaysOnly: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export type Schedule = z.infer<typeof Schedule>;

export interface ScheduleRecord extends Schedule {
  nextRunAt: string;
  lastRunAt?: string;
  lastCampaignId?: string;
  createdBy: string;
  branchId?: string;
}

const scheduleKey = scheduleItemKey;

export function validateSchedule(raw: unknown): Schedule {
  const parsed = Schedule.safeParse(raw);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join(".") || "schedule"}: ${i.message}`);
  const cron = (raw as { cron?: unknown } | undefined)?.cron;
  if (typeof cron === "string")
    try {
      parseCron(cron);
    } catch (err) {
      if (err instanceof CronError) problems.push(...err.problems.map((p) => `cron: ${p}`));
      else throw err;
    }
  if (problems.length) throw new ScheduleValidationError(problems);
  return parsed.data!;
}

export class ScheduleValidationError extends InputError {
  override readonly code: string = "invalid_schedule";
  constructor(readonly problems: string[]) {
    super(`invalid schedule: ${problems.join("; ")}`);
  }
}

export async function saveSchedule(
  repo: Repo,
  schedule: Schedule,
  now: Date,
  by: { userId: string; branchId?: string },
  timeZone: string,
): Promise<ScheduleRecord> {
  const record: ScheduleRecord = {
    ...schedule,
    nextRunAt: nextRun(parseCron(schedule.cron), now, timeZone).toISOString(),
    createdBy: by.userId,
    ...(by.branchId ? { branchId: by.branchId } : {}),
  };
  await repo.put({ ...scheduleKey(schedule.scheduleId), ...record });
  return record;
}

export async function removeSchedule(repo: Repo, scheduleId: string): Promise<void> {
  await store.deleteSchedule(repo, scheduleId);
}

export async function listSchedules(repo: Repo): Promise<ScheduleRecord[]> {
  const out: ScheduleRecord[] = [];
  for await (const item of repo.queryAll("SCHEDULES")) {
    const { PK: _pk, SK: _sk, ...rest } = item;
    out.push(rest as unknown as ScheduleRecord);
  }
  return out;
}

/** YYYYMMDDHHmm of an instant in the zone: the run's id suffix, so a run is created once per firing. */
function stamp(at: Date, timeZone: string): string {
  const { date, minutes } = localTime(at, timeZone);
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${date.replaceAll("-", "")}${hh}${mm}`;
}

export interface ScheduleDeps {
  repo: Repo;
  config: TiercastConfig;
  /** For the audit entries of each run. */
  secret: string;
  auditAnchor?: AuditAnchor;
  auditWriter?: AuditWriter;
  now: () => Date;
  startLaunch: (campaignId: string, version: number, at: string) => Promise<{ executionId: string }>;
}

export interface ScheduleRun {
  scheduleId: string;
  firedAt: string;
  campaignId?: string;
  skipped?: string;
}

/**
 * Runs every schedule that is due. Each firing is claimed with a conditional write on `nextRunAt`, so
 * two schedulers (or a retried invocation) never start the same run twice; the run's campaign id is
 * derived from the firing time for the same reason.
 */
export async function runDueSchedules(deps: ScheduleDeps): Promise<ScheduleRun[]> {
  const now = deps.now();
  const timeZone = deps.config.quietHours.timeZone;
  const runs: ScheduleRun[] = [];
  for (const s of await listSchedules(deps.repo)) {
    if (!s.enabled || Date.parse(s.nextRunAt) > now.getTime()) continue;
    const firedAt = new Date(s.nextRunAt);
    const claimed = await store.claimRun(
      deps.repo,
      s.scheduleId,
      s.nextRunAt,
      nextRun(parseCron(s.cron), now, timeZone).toISOString(),
      firedAt.toISOString(),
    );
    if (!claimed) continue;
    runs.push(await fire(deps, s, firedAt));
  }
  return runs;
}

async function fire(deps: ScheduleDeps, s: ScheduleRecord, firedAt: Date): Promise<ScheduleRun> {
  const timeZone = deps.config.quietHours.timeZone;
  const base = { scheduleId: s.scheduleId, firedAt: firedAt.toISOString() };
  const day = stamp(firedAt, timeZone);
  if (s.holidaysOnly) {
    const date = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
    if (!deps.config.holidays.some((h) => h.date === date)) return { ...base, skipped: "not_a_holiday" };
  }
  const template = await findCampaign(deps.repo, s.campaignId);
  const skip = template ? notRunnable(template) : "campaign_missing";
  if (skip) {
    await audit(deps, s, firedAt, { skipped: skip });
    return { ...base, skipped: skip };
  }
  const t = template!;
  const campaignId = runId(t.campaignId, s.scheduleId, day);
  if (!(await findCampaign(deps.repo, campaignId))) {
    const campaign = parseCampaign(
      { ...t.campaign, campaignId, name: `${t.campaign.name ?? t.campaignId} ${day.slice(0, 8)}` },
      deps.config,
    );
    const created = await createScheduledRun(deps.repo, t, {
      campaignId,
      campaign,
      firedAt,
      createdBy: `schedule:${s.scheduleId}`,
    });
    if (!created) return { ...base, campaignId };
    // The run's own trail starts here, so its launch and outcome entries follow a create like any campaign's.
    await appendAudit(deps, {
      entity: "campaign",
      entityId: campaignId,
      action: "create",
      actor: { userId: `schedule:${s.scheduleId}`, role: "system" },
      at: firedAt.toISOString(),
      after: { status: created.status, version: 1, from: { campaignId: t.campaignId, version: t.version } },
    });
    await deps.startLaunch(campaignId, 1, firedAt.toISOString());
    await audit(deps, s, firedAt, { campaignId });
  }
  await store.setLastCampaign(deps.repo, s.scheduleId, campaignId);
  return { ...base, campaignId };
}

const MAX_ID = 64;

/**
 * The run's campaign id: readable (`<campaign>-<YYYYMMDDHHmm>-…`) and unique per schedule and firing.
 * The suffix hashes the whole key (campaign, schedule, minute), so two schedules of one campaign, or a
 * campaign id long enough to be cut, never share a run; the same firing always gets the same id.
 */
export function runId(campaignId: string, scheduleId: string, stamp: string): string {
  const digest = createHash("sha256")
    .update(`${campaignId}\n${scheduleId}\n${stamp}`)
    .digest("hex")
    .slice(0, 10);
  const prefix = campaignId.slice(0, MAX_ID - stamp.length - digest.length - 2);
  return `${prefix}-${stamp}-${digest}`;
}

function notRunnable(t: CampaignRecord): string | undefined {
  if (t.status === "cancelled") return "campaign_cancelled";
  if (!t.approval || t.approval.version !== t.version) return "campaign_not_approved";
  return undefined;
}

async function audit(deps: ScheduleDeps, s: ScheduleRecord, firedAt: Date, after: Record<string, unknown>) {
  await appendAudit(deps, {
    entity: "schedule",
    entityId: s.scheduleId,
    action: "run",
    actor: { userId: "scheduler", role: "admin" },
    at: firedAt.toISOString(),
    after,
  });
}
