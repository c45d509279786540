import { putCustomers } from "#functions/customers/store.ts";
import { importRecords } from "#functions/import/core.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { type Runtime, type RuntimeOptions, startRuntime } from "#local/runtime.ts";
import { syntheticCustomers } from "#local/synthetic.ts";
import { parseConfig, type TiercastConfig } from "#platform/config.ts";
import { ledgerRowsOf } from "../../cli/funnel.ts";

/** An in-memory embedded runtime holding a deterministic synthetic bank. */
export async function localBank(
  customers: number,
  at: Date,
  overrides: Record<string, unknown> = {},
  settings: RuntimeOptions["settings"] = {},
): Promise<Runtime> {
  const config: TiercastConfig = parseConfig({
    sms: { ratePerSecond: 100_000 },
    email: { ratePerSecond: 100_000 },
    ...overrides,
  });
  const runtime = await startRuntime({ config, at, settings });
  async function* records(): AsyncGenerator<SourceRecord> {
    let line = 0;
    for (const value of syntheticCustomers({ customers, seed: 7, at })) yield { line: ++line, value };
  }
  const report = await importRecords(records(), {
    config,
    write: (batch) => putCustomers(runtime.repo, batch, at.toISOString()),
  });
  if (report.rejected.length) throw new Error(`synthetic bank rejected ${report.rejected.length} rows`);
  return runtime;
}

/** Moves the runtime's clock to `at` (time runs on from there). */
export function setClock(runtime: Runtime, at: string) {
  runtime.clock.set(at);
}

/** Every ledger row of a campaign (all shards). */
export async function ledgerRows(runtime: Runtime, campaignId: string): Promise<LedgerRow[]> {
  const rows: LedgerRow[] = [];
  for await (const row of ledgerRowsOf(runtime, campaignId)) rows.push(row);
  return rows;
}
