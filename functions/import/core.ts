import type { TiercastConfig } from "#shared/config.ts";
import { formatIssues } from "#shared/config.ts";
import { type Customer, CustomerInput, toCustomer } from "#shared/customer.ts";
import type { SourceRecord } from "./parse.ts";

export interface ImportReport {
  imported: number;
  rejected: { line: number; error: string }[];
}

export interface ImportOptions {
  config: TiercastConfig;
  /** Persists one batch; several batches may be in flight at once. */
  write: (customers: Customer[]) => Promise<void>;
  batchSize?: number;
  inFlight?: number;
  onProgress?: (done: { imported: number; rejected: number }) => void;
}

export function validateRecord(
  record: Record<string, unknown>,
  config: TiercastConfig,
): { customer: Customer } | { error: string } {
  const parsed = CustomerInput.safeParse(record);
  if (!parsed.success) return { error: formatIssues(parsed.error.issues).join("; ") };
  return { customer: toCustomer(parsed.data, config) };
}

/**
 * Streams records into the store: valid rows are kept, bad rows are reported by line, and at most
 * `inFlight` batches are held in memory, so the size of the file never matters.
 */
export async function importRecords(
  records: AsyncIterable<SourceRecord>,
  options: ImportOptions,
): Promise<ImportReport> {
  const batchSize = options.batchSize ?? 500;
  const maxInFlight = options.inFlight ?? 4;
  const report: ImportReport = { imported: 0, rejected: [] };
  const inFlight = new Set<Promise<void>>();
  let batch: Customer[] = [];
  let failure: unknown;

  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    const p = options.write(current).then(
      () => {
        report.imported += current.length;
        options.onProgress?.({ imported: report.imported, rejected: report.rejected.length });
      },
      (err: unknown) => {
        failure ??= err;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  };

  for await (const record of records) {
    if (failure) break;
    if (record.error) {
      report.rejected.push({ line: record.line, error: record.error });
      continue;
    }
    const result = validateRecord(record.value ?? {}, options.config);
    if ("error" in result) report.rejected.push({ line: record.line, error: result.error });
    else batch.push(result.customer);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return report;
}
