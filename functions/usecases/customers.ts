import { assertHeadOffice, assertInScope, inScope } from "#functions/access/scope.ts";
import type { Actor } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { forgetCustomer } from "#functions/customers/forget.ts";
import { ingestRecords } from "#functions/events/core.ts";
import { type ImportReport, importRecords } from "#functions/import/core.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import { NotFoundError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/**
 * A branch user's file may hold only their branch's customers: a row of another branch, or one that
 * would overwrite (and so move) another branch's or head office's customer, is reported, not stored.
 */
async function* scoped(
  deps: UseCaseDeps,
  actor: Actor,
  records: AsyncIterable<SourceRecord>,
): AsyncGenerator<SourceRecord> {
  for await (const r of records) {
    if (!r.value || !actor.branchId) {
      yield r;
      continue;
    }
    const branch = r.value.branchId;
    if (branch !== actor.branchId) {
      yield { line: r.line, error: `branchId ${String(branch ?? "(none)")} is not branch ${actor.branchId}` };
      continue;
    }
    const id = r.value.customerId;
    const existing = typeof id === "string" ? await deps.repo.getCustomer(id) : undefined;
    if (existing && !inScope(actor, existing.branchId))
      yield { line: r.line, error: `customer ${id} is not a customer of branch ${actor.branchId}` };
    else yield r;
  }
}

export async function importCustomers(
  deps: UseCaseDeps,
  actor: Actor,
  records: AsyncIterable<SourceRecord>,
  options: { source?: string; onProgress?: (done: { imported: number; rejected: number }) => void } = {},
): Promise<ImportReport> {
  const updatedAt = deps.now().toISOString();
  const report = await importRecords(scoped(deps, actor, records), {
    config: deps.config,
    write: (customers) => deps.repo.putCustomers(customers, updatedAt, 2),
    onProgress: options.onProgress,
  });
  await appendAudit(deps, {
    entity: "import",
    entityId: updatedAt.slice(0, 10),
    action: "import",
    actor: auditActor(actor),
    at: updatedAt,
    after: {
      imported: report.imported,
      rejected: report.rejected.length,
      ...(options.source ? { source: options.source } : {}),
    },
  });
  return report;
}

export async function forget(deps: UseCaseDeps, actor: Actor, customerId: string) {
  const customer = await deps.repo.getCustomer(customerId);
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
  return ingestRecords(records, {
    repo: deps.repo,
    shards: deps.config.shards,
    config: deps.config,
    secret: deps.secret,
  });
}
