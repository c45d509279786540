import type { Runtime } from "#local/runtime.ts";
import { loadCampaign } from "#shared/campaigns.ts";
import { NotFoundError } from "#shared/errors.ts";
import { shardOf } from "#shared/hash.ts";
import { exportRow, type LedgerRow } from "#shared/ledger.ts";
import { key } from "#shared/table.ts";
import { ledgerRowsOf } from "./funnel.ts";

const COLUMNS = [
  "customerId",
  "tier",
  "decision",
  "reason",
  "channel",
  "variant",
  "messageId",
  "at",
  "dueAt",
  "stage",
] as const;

function csvCell(value: unknown): string {
  const s = String(value ?? "");
  // Quote when needed; a leading =,+,-,@ is prefixed so a spreadsheet never runs it as a formula.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

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
    const r = exportRow(row);
    if (options.format === "csv") await write(`${COLUMNS.map((c) => csvCell(r[c])).join(",")}\n`);
    else {
      await write(`${first ? "" : ","}\n${JSON.stringify(r)}`);
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
  await write(options.format === "csv" ? `${COLUMNS.join(",")}\n` : "[");
  if (only) {
    await emitRow(only);
  } else {
    for await (const row of ledgerRowsOf(runtime, campaignId)) await emitRow(row);
  }
  if (options.format === "json") await write("\n]\n");
}
