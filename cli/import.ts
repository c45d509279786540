import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import type { ImportReport } from "#functions/import/core.ts";
import { parseCsv, parseJsonl } from "#functions/import/parse.ts";
import { importCustomers } from "#functions/usecases/customers.ts";
import type { Runtime } from "#local/runtime.ts";
import { InputError, UsageError } from "#shared/errors.ts";
import { localOperator, useCaseDeps } from "./context.ts";
import { progress } from "./output.ts";

export function formatOf(file: string): "jsonl" | "csv" {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  throw new UsageError(`cannot tell the format of ${file}: use a .jsonl or .csv file`);
}

export async function importFile(
  runtime: Runtime,
  file: string,
  now: Date,
  options: { showProgress?: boolean; expected?: number } = {},
): Promise<ImportReport & { seconds: number }> {
  const format = formatOf(file);
  const info = await stat(file).catch(() => {
    throw new InputError(`cannot read ${file}: no such file`);
  });
  if (!info.isFile()) throw new InputError(`cannot read ${file}: not a file`);
  const stream = createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 });
  const records = format === "csv" ? parseCsv(stream) : parseJsonl(stream);
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
