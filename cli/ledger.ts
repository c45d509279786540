import { loadCampaign } from "#functions/campaign/record.ts";
import { csvLine, exportRow, LEDGER_COLUMNS, type LedgerRow } from "#functions/ledger/rows.ts";
import type { Runtime } from "#local/runtime.ts";
import { csvRow } from "#platform/csv.ts";
import { NotFoundError } from "#platform/errors.ts";
import { shardOf } from "#platform/hash.ts";
import { key } from "#platform/table.ts";
import { ledgerRowsOf } from "./funnel.ts";

/** Streams the ledger (shard by shard) as CSV or a JSON array, never holding it all in memory. */
export async function writeLedger(
  runtime: Runtime,
  campaignId: string,
  options: { customer?: string; format: "json" | "csv" },
) {
  await loadCampaign(runtime.repo, campaignId);
  const out = process.stdout;
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  let first = true;
  const emitRow = async (row: LedgerRow) => {
    if (options.format === "csv") await write(csvLine(row));
    else {
      await write(`${first ? "" : ","}\n${JSON.stringify(exportRow(row))}`);
      first = false;
    }
  };
  const only = options.customer
    ? await runtime.repo.get<LedgerRow>(
        key.ledger(campaignId, shardOf(options.customer, runtime.config.shards), options.customer),
      )
    : undefined;
  if (options.customer && !only)
    throw new NotFoundError(`customer ${options.customer} is not in the audience of ${campaignId}`);
  await write(options.format === "csv" ? csvRow(LEDGER_COLUMNS) : "[");
  if (only) {
    await emitRow(only);
  } else {
    for await (const row of ledgerRowsOf(runtime, campaignId)) await emitRow(row);
  }
  if (options.format === "json") await write("\n]\n");
}
