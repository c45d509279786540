import type { Actor } from "#functions/access/users.ts";
import type { AuditActor } from "#functions/audit/chain.ts";
import type { AuditDeps } from "#functions/audit/store.ts";
import type { TiercastConfig } from "#platform/config.ts";

/**
 * What a use case needs, whichever transport calls it: the API passes its deps, the CLI builds these
 * from the embedded runtime. Use cases check branch scope and append the audit entry themselves, so a
 * CLI command and its API route cannot behave differently.
 */
export interface UseCaseDeps extends AuditDeps {
  config: TiercastConfig;
  now: () => Date;
  /** Starts the launch workflow (Step Functions on AWS, the embedded interpreter locally). */
  startLaunch?: (campaignId: string, version: number, at: string) => Promise<{ executionId: string }>;
  /** Creates, updates or deletes the schedule's timer (EventBridge Scheduler on AWS). */
  syncSchedule?: (scheduleId: string, cron: string | undefined) => Promise<void>;
  /** Runs a dry-run job in the background (a submit starts one for the approver); absent: none is started. */
  startDryRun?: (jobId: string) => Promise<void>;
}

export const auditActor = (a: Actor): AuditActor => ({
  userId: a.userId,
  role: a.role,
  ...(a.branchId ? { branchId: a.branchId } : {}),
});
