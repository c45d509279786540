import { Schedule } from "#functions/schedules/core.ts";
import { deleteSchedule, runDue, setSchedule, visibleSchedules } from "#functions/usecases/schedules.ts";
import { type AnyRoute, json, route } from "./http.ts";

/** Recurring and care campaigns: a cron (Asia/Shanghai) over an approved campaign. */
export const scheduleRoutes: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/schedules",
    summary: "Schedules with their next run",
    roles: ["marketer", "approver", "analyst", "admin"],
    handle: async ({ actor, deps }) => ({ schedules: await visibleSchedules(deps, actor) }),
  }),
  route({
    method: "PUT",
    path: "/api/schedules/{scheduleId}",
    summary: "Create or replace a schedule (cron in Asia/Shanghai, the approved campaign it runs)",
    roles: ["marketer", "admin"],
    body: Schedule,
    rawJson: true,
    async handle({ actor, params, body, deps }) {
      return json(
        200,
        await setSchedule(deps, actor, { ...(body as object), scheduleId: params.scheduleId }),
      );
    },
  }),
  route({
    method: "DELETE",
    path: "/api/schedules/{scheduleId}",
    summary: "Delete a schedule (runs already started continue)",
    roles: ["marketer", "admin"],
    handle: async ({ actor, params, deps }) => deleteSchedule(deps, actor, params.scheduleId!),
  }),
  route({
    method: "POST",
    path: "/api/schedules/run-due",
    summary: "Run every schedule that is due now (what the scheduler does each minute)",
    roles: ["admin"],
    handle: async ({ actor, deps }) => ({ runs: await runDue(deps, actor) }),
  }),
];
