import { assertHeadOffice, assertInScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { loadCampaign } from "#functions/campaign/record.ts";
import {
  listSchedules,
  removeSchedule,
  runDueSchedules,
  type ScheduleRecord,
  saveSchedule,
  validateSchedule,
} from "#functions/schedules/core.ts";
import { NotFoundError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

async function findSchedule(deps: UseCaseDeps, scheduleId: string): Promise<ScheduleRecord | undefined> {
  return (await listSchedules(deps.repo)).find((s) => s.scheduleId === scheduleId);
}

/**
 * Creates or replaces a schedule. Both the schedule being replaced and the campaign it will run must
 * be in the actor's branch: replacing another branch's (or head office's) schedule is taking it over.
 */
export async function setSchedule(deps: UseCaseDeps, actor: Actor, raw: unknown): Promise<ScheduleRecord> {
  const schedule = validateSchedule(raw);
  const existing = await findSchedule(deps, schedule.scheduleId);
  if (existing) assertInScope(actor, `schedule "${existing.scheduleId}"`, existing.branchId);
  const campaign = await loadCampaign(deps.repo, schedule.campaignId);
  assertInScope(actor, `campaign "${campaign.campaignId}"`, campaign.branchId);
  const now = deps.now();
  // The schedule belongs where its campaign does, whoever saves it (a head-office admin editing a branch's schedule keeps it the branch's).
  const record = await saveSchedule(
    deps.repo,
    schedule,
    now,
    { userId: actor.userId, ...(campaign.branchId ? { branchId: campaign.branchId } : {}) },
    deps.config.quietHours.timeZone,
  );
  await deps.syncSchedule?.(schedule.scheduleId, schedule.enabled ? schedule.cron : undefined);
  await appendAudit(deps, {
    entity: "schedule",
    entityId: schedule.scheduleId,
    action: "save",
    actor: auditActor(actor),
    at: now.toISOString(),
    ...(existing ? { before: existing } : {}),
    after: record,
  });
  return record;
}

export async function deleteSchedule(deps: UseCaseDeps, actor: Actor, scheduleId: string) {
  const existing = await findSchedule(deps, scheduleId);
  if (!existing) throw new NotFoundError(`no schedule "${scheduleId}"`);
  assertInScope(actor, `schedule "${existing.scheduleId}"`, existing.branchId);
  await removeSchedule(deps.repo, existing.scheduleId);
  await deps.syncSchedule?.(existing.scheduleId, undefined);
  await appendAudit(deps, {
    entity: "schedule",
    entityId: existing.scheduleId,
    action: "delete",
    actor: auditActor(actor),
    at: deps.now().toISOString(),
    before: existing,
  });
  return { deleted: existing.scheduleId };
}

export async function visibleSchedules(deps: UseCaseDeps, actor: Actor) {
  const all = await listSchedules(deps.repo);
  return all.filter((s) => !actor.branchId || s.branchId === actor.branchId);
}

/** What the scheduler does each minute; every branch's schedules, so head office's only. */
export async function runDue(deps: UseCaseDeps & Required<Pick<UseCaseDeps, "startLaunch">>, actor: Actor) {
  assertHeadOffice(actor, "running the due schedules");
  return runDueSchedules(deps);
}
