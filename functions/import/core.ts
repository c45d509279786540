import { type Customer, CustomerInput, toCustomer } from "#functions/customers/record.ts";
import { customerItem } from "#functions/customers/store.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { formatIssues } from "#platform/config.ts";
import { ITEM_LIMIT_BYTES, topItemSizeBytes } from "#platform/storable.ts";
import type { SourceRecord } from "./parse.ts";

export interface ImportReport {
  imported: number;
  rejected: { line: number; error: string }[];
  /** Recipients of growth campaigns (tier-upgrade, asset-retention, card-upgrade, goals) this import converted. */
  converted?: number;
}

export interface ImportOptions {
  config: TiercastConfig;
  /** Persists one batch; several batches may be in flight at once. */
  write: (customers: Customer[]) => Promise<void>;
  batchSize?: number;
  inFlight?: number;
  onProgress?: (done: { imported: number; rejected: number }) => void;
  /**
   * After each batch is stored, in line order: everything up to `line` is stored or rejected, and
   * the source can be read again from byte `end` on line `next` (import jobs checkpoint here).
   */
  onStored?: (done: { line: number; end?: number; next?: number; stored: number }) => Promise<void> | void;
  /** Each rejection as it happens (import jobs keep them in the store, not in memory). */
  onRejected?: (rejection: { line: number; error: string }) => void;
}

const SAMPLE_UPDATED_AT = "2000-01-01T00:00:00.000Z";

export function validateRecord(
  record: Record<string, unknown>,
  config: TiercastConfig,
): { customer: Customer } | { error: string } {
  const parsed = CustomerInput.safeParse(record);
  if (!parsed.success) return { error: formatIssues(parsed.error.issues).join("; ") };
  const customer = toCustomer(parsed.data, config);
  // The item as it will be stored (keys and index attributes included) must fit DynamoDB's 400 KB.
  const size = topItemSizeBytes(customerItem(customer, SAMPLE_UPDATED_AT));
  if (size > ITEM_LIMIT_BYTES)
    return { error: `record too large to store: ${Math.ceil(size / 1024)} KB (at most 400 KB)` };
  return { customer };
}

/** The store refused the request's content (not its availability): a bad record, never a reason to stop. */
const isRefusal = (err: unknown) => (err as Error)?.name === "ValidationException";

/**
 * Streams records into the store: valid rows are kept, bad rows are reported by line, and at most
 * `inFlight` batches are held in memory, so the size of the file never matters. If the store refuses
 * a batch, its rows are written one by one, so only the row it cannot hold is lost (and reported).
 */
export async function importRecords(
  records: AsyncIterable<SourceRecord>,
  options: ImportOptions,
): Promise<ImportReport> {
  const batchSize = options.batchSize ?? 500;
  const maxInFlight = options.inFlight ?? 4;
  const report: ImportReport = { imported: 0, rejected: [] };
  const inFlight = new Set<Promise<void>>();
  let batch: { line: number; customer: Customer }[] = [];
  let lastLine = 0;
  let lastEnd: number | undefined;
  let lastNext: number | undefined;
  let failure: unknown;
  const reject = (r: { line: number; error: string }) => {
    report.rejected.push(r);
    options.onRejected?.(r);
  };
  // Checkpoints go out in line order even though batches finish in any order.
  let chain: Promise<void> = Promise.resolve();

  const store = async (rows: { line: number; customer: Customer }[]) => {
    try {
      await options.write(rows.map((r) => r.customer));
      return rows.length;
    } catch (err) {
      if (!isRefusal(err)) throw err;
    }
    let stored = 0;
    for (const row of rows) {
      try {
        await options.write([row.customer]);
        stored++;
      } catch (err) {
        if (!isRefusal(err)) throw err;
        reject({
          line: row.line,
          error: `the store refused this record: ${(err as Error).message.split("\n")[0]}`,
        });
      }
    }
    return stored;
  };

  const flush = async () => {
    const current = batch;
    batch = [];
    const upTo = { line: lastLine, end: lastEnd, next: lastNext };
    let stored = 0;
    const p = store(current).then(
      (n) => {
        stored = n;
        report.imported += n;
        options.onProgress?.({ imported: report.imported, rejected: report.rejected.length });
      },
      (err: unknown) => {
        failure ??= err;
      },
    );
    if (options.onStored) {
      const previous = chain;
      chain = Promise.all([previous, p]).then(() =>
        failure ? undefined : options.onStored?.({ ...upTo, stored }),
      );
      chain.catch((err: unknown) => {
        failure ??= err;
      });
    }
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  };

  for await (const record of records) {
    if (failure) break;
    lastLine = record.line;
    lastEnd = record.end;
    lastNext = record.next;
    if (record.error) reject({ line: record.line, error: record.error });
    else {
      const result = validateRecord(record.value ?? {}, options.config);
      if ("error" in result) reject({ line: record.line, error: result.error });
      else batch.push({ line: record.line, customer: result.customer });
    }
    if (batch.length >= batchSize) await flush();
  }
  if (!failure) await flush();
  await Promise.all(inFlight);
  await chain.catch(() => undefined);
  if (failure) throw failure;
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}
