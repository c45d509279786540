import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import {
  listSchedules,
  runDueSchedules,
  Schedule,
  saveSchedule,
  validateSchedule,
} from "#functions/schedules/core.ts";
import { appendAudit } from "#shared/audit.ts";
import { loadCampaign } from "#shared/campaigns.ts";
import { ForbiddenError, NotFoundError } from "#shared/errors.ts";
import { type AnyRoute, json, route } from "./http.ts";

/** Recurring and care campaigns: a cron (Asia/Shanghai) over an approved campaign. */
export const scheduleRoutes: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/schedules",
    summary: "Schedules with their next run",
    roles: ["marketer", "approver", "analyst", "admin"],
    async handle({ actor, deps }) {
      const all = await listSchedules(deps.repo);
      return { schedules: all.filter((s) => !actor.branchId || s.branchId === actor.branchId) };
    },
  }),
  route({
    method: "PUT",
    path: "/api/schedules/{scheduleId}",
    summary: "Create or replace a schedule (cron in Asia/Shanghai, the approved campaign it runs)",
    roles: ["marketer", "admin"],
    body: Schedule,
    rawJson: true,
    async handle({ actor, params, body, deps }) {
      const schedule = validateSchedule({ ...(body as object), scheduleId: params.scheduleId });
      const campaign = await loadCampaign(deps.repo, schedule.campaignId);
      if (actor.branchId && campaign.branchId !== actor.branchId)
        throw new ForbiddenError(
          `campaign ${campaign.campaignId} is not a campaign of branch ${actor.branchId}`,
          "other_branch",
        );
      const now = deps.now();
      const record = await saveSchedule(deps.repo, schedule, now, actor, deps.config.quietHours.timeZone);
      await deps.syncSchedule?.(schedule.scheduleId, schedule.enabled ? schedule.cron : undefined);
      await appendAudit(deps.repo, {
        entity: "schedule",
        entityId: schedule.scheduleId,
        action: "save",
        actor: { userId: actor.userId, role: actor.role },
        at: now.toISOString(),
        after: record,
      });
      return json(200, record);
    },
  }),
  route({
    method: "DELETE",
    path: "/api/schedules/{scheduleId}",
    summary: "Delete a schedule (runs already started continue)",
    roles: ["marketer", "admin"],
    async handle({ actor, params, deps }) {
      const existing = (await listSchedules(deps.repo)).find((s) => s.scheduleId === params.scheduleId);
      if (!existing) throw new NotFoundError(`no schedule "${params.scheduleId}"`);
      if (actor.branchId && existing.branchId !== actor.branchId)
        throw new ForbiddenError(
          `schedule ${existing.scheduleId} is not branch ${actor.branchId}'s`,
          "other_branch",
        );
      await deps.repo.ddb.send(
        new DeleteCommand({ TableName: deps.repo.table, Key: { PK: "SCHEDULES", SK: existing.scheduleId } }),
      );
      await deps.syncSchedule?.(existing.scheduleId, undefined);
      await appendAudit(deps.repo, {
        entity: "schedule",
        entityId: existing.scheduleId,
        action: "delete",
        actor: { userId: actor.userId, role: actor.role },
        at: deps.now().toISOString(),
        before: existing,
      });
      return { deleted: existing.scheduleId };
    },
  }),
  route({
    method: "POST",
    path: "/api/schedules/run-due",
    summary: "Run every schedule that is due now (what the scheduler does each minute)",
    roles: ["admin"],
    handle: async ({ deps }) => ({ runs: await runDueSchedules(deps) }),
  }),
];
