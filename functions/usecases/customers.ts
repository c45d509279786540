import { assertHeadOffice, assertInScope, confineToBranch } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { localDay } from "#functions/campaign/time.ts";
import { forgetCustomer } from "#functions/customers/forget.ts";
import { getCustomer, upsertCustomers } from "#functions/customers/store.ts";
import { eventDepsOf, ingestRecords } from "#functions/events/core.ts";
import { importConversions } from "#functions/growth/conversions.ts";
import { type ImportReport, importRecords } from "#functions/import/core.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import { NotFoundError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

export async function importCustomers(
  deps: UseCaseDeps,
  actor: Actor,
  records: AsyncIterable<SourceRecord>,
  options: { source?: string; onProgress?: (done: { imported: number; rejected: number }) => void } = {},
): Promise<ImportReport> {
  const now = deps.now();
  const updatedAt = now.toISOString();
  const month = localDay(now, deps.config.quietHours.timeZone).slice(0, 7);
  const conversions = importConversions(deps.repo, deps.config, now);
  const report: ImportReport = await importRecords(confineToBranch(deps.repo, actor.branchId, records), {
    config: deps.config,
    write: async (customers) => {
      const changes = await upsertCustomers(deps.repo, customers, { updatedAt, month, concurrency: 2 });
      await conversions.apply(changes);
    },
    onProgress: options.onProgress,
  });
  // Only when there is something to say: the import's JSON is unchanged for banks without growth campaigns.
  if (conversions.converted > 0) report.converted = conversions.converted;
  await appendAudit(deps, {
    entity: "import",
    entityId: updatedAt.slice(0, 10),
    action: "import",
    actor: auditActor(actor),
    at: updatedAt,
    after: {
      imported: report.imported,
      rejected: report.rejected.length,
      ...(report.converted ? { converted: report.converted } : {}),
      ...(options.source ? { source: options.source } : {}),
    },
  });
  return report;
}

export async function forget(deps: UseCaseDeps, actor: Actor, customerId: string) {
  const customer = await getCustomer(deps.repo, customerId);
  if (!customer) throw new NotFoundError(`no customer "${customerId}"`);
  assertInScope(actor, `customer ${customerId}`, customer.branchId);
  const now = deps.now();
  const result = await forgetCustomer(deps.repo, deps.config.shards, customerId, now);
  await appendAudit(deps, {
    entity: "customer",
    entityId: customerId,
    action: "forget",
    actor: auditActor(actor),
    at: now.toISOString(),
    after: { ledgerRowsScrubbed: result.ledgerRowsScrubbed },
  });
  return result;
}

/** Events move any customer's ledger rows and opt-outs, so they are head office's to ingest. */
export async function ingestEvents(
  deps: UseCaseDeps,
  actor: Actor,
  records: Parameters<typeof ingestRecords>[0],
) {
  assertHeadOffice(actor, "ingesting events");
  return ingestRecords(records, eventDepsOf(deps));
}
