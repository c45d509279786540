import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import type { ImportReport } from "#functions/import/core.ts";
import { parseEncoding } from "#functions/import/encoding.ts";
import { readRecords, type SourceRecord } from "#functions/import/parse.ts";
import { readXlsx } from "#functions/import/xlsx.ts";
import { importCustomers } from "#functions/usecases/customers.ts";
import type { Runtime } from "#local/runtime.ts";
import { InputError, UsageError } from "#platform/errors.ts";
import { localOperator, useCaseDeps } from "./context.ts";
import { progress } from "./output.ts";

export type FileFormat = "jsonl" | "csv" | "xlsx";

export function formatOf(file: string): FileFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".xlsx") return "xlsx";
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  if (ext === ".xls")
    throw new UsageError(`${file}: the old .xls format is not read; save it as .xlsx or CSV UTF-8`);
  throw new UsageError(`cannot tell the format of ${file}: use a .jsonl, .csv or .xlsx file`);
}

export interface SourceOptions {
  /** `--encoding`: auto (default), utf-8, gbk, gb18030… (text files only). */
  encoding?: string;
  /** `--sheet`: the worksheet of an .xlsx (default: the first). */
  sheet?: string;
  /** Minutes east of UTC for date-time cells of an .xlsx. */
  offsetMinutes?: number;
}

/** The records of a bank's file, whatever it is: JSONL, CSV (UTF-8 or GBK) or .xlsx. */
export async function openSource(
  file: string,
  options: SourceOptions = {},
): Promise<AsyncGenerator<SourceRecord>> {
  const format = formatOf(file);
  if (options.sheet !== undefined && format !== "xlsx")
    throw new UsageError("--sheet applies to .xlsx files only");
  if (options.encoding !== undefined && format === "xlsx")
    throw new UsageError("--encoding applies to .jsonl and .csv files (an .xlsx is always Unicode)");
  const encoding = options.encoding === undefined ? "auto" : parseEncoding(options.encoding);
  const info = await stat(file).catch(() => {
    throw new InputError(`cannot read ${file}: no such file`);
  });
  if (!info.isFile()) throw new InputError(`cannot read ${file}: not a file`);
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  if (format === "xlsx")
    return readXlsx(stream, { sheet: options.sheet, offsetMinutes: options.offsetMinutes });
  return readRecords(stream, { format, encoding });
}

export async function importFile(
  runtime: Runtime,
  file: string,
  now: Date,
  options: { showProgress?: boolean; expected?: number } & SourceOptions = {},
): Promise<ImportReport & { seconds: number }> {
  const records = await openSource(file, options);
  const bar = options.showProgress ? progress("import", options.expected) : undefined;
  const started = performance.now();
  const report = await importCustomers(
    useCaseDeps(runtime, () => now),
    localOperator(),
    records,
    {
      source: basename(file),
      onProgress: bar ? ({ imported, rejected }) => bar.update(imported + rejected) : undefined,
    },
  );
  const seconds = bar
    ? bar.done(`${report.imported} imported, ${report.rejected.length} rejected`)
    : (performance.now() - started) / 1000;
  return { ...report, seconds };
}
