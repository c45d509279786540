import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import { planReport, runPlan } from "#functions/plans/core.ts";
import { importStaff } from "#functions/staff/store.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/** Staff by role and branch; a branch user's file may hold only their branch's people (the rest by line). */
export async function importStaffAs(deps: UseCaseDeps, actor: Actor, records: AsyncIterable<SourceRecord>) {
  async function* confined() {
    for await (const r of records) {
      if (actor.branchId && r.value && r.value.branchId !== actor.branchId)
        yield { line: r.line, error: `branchId ${String(r.value.branchId)} is not branch ${actor.branchId}` };
      else yield r;
    }
  }
  const report = await importStaff(deps.repo, confined());
  const at = deps.now().toISOString();
  await appendAudit(deps, {
    entity: "import",
    entityId: at.slice(0, 10),
    action: "import_staff",
    actor: auditActor(actor),
    at,
    after: { imported: report.imported, rejected: report.rejected.length },
  });
  return report;
}

/** The month's corporate contact plan as tasks (a branch user: their branch's customers). */
export async function runPlanAs(deps: UseCaseDeps, actor: Actor, month: string) {
  const now = deps.now();
  const result = await runPlan(deps, month, now, actor.branchId ? { branch: actor.branchId } : {});
  await appendAudit(deps, {
    entity: "plan",
    entityId: `${month}${actor.branchId ? `.${actor.branchId}` : ""}`,
    action: "run",
    actor: auditActor(actor),
    at: now.toISOString(),
    after: result,
  });
  return result;
}

export function planReportAs(deps: UseCaseDeps, actor: Actor, month: string, branch?: string) {
  return planReport(deps, month, actor.branchId ? { branch: actor.branchId } : branch ? { branch } : {});
}
