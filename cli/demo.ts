import { join } from "node:path";
import { writeSyntheticBank } from "#local/synthetic.ts";
import { parseAt, withRuntime } from "./context.ts";
import { importFile } from "./import.ts";
import { fmt, type GlobalOptions } from "./output.ts";
import { countTiers, tiersTable } from "./tiers.ts";

const say = (text: string) => process.stdout.write(`${text}\n`);

export async function runDemo(options: GlobalOptions, customers: number): Promise<void> {
  const at = parseAt(options.at) ?? new Date();
  await withRuntime({ ...options, at: at.toISOString() }, async (runtime, now) => {
    const file = join(runtime.dataDir!, "bank.jsonl");
    say(`Tiercast demo — a synthetic bank of ${fmt(customers)} customers, data in ${runtime.dataDir}\n`);
    await writeSyntheticBank(file, { customers, seed: 42, at });
    const report = await importFile(runtime, file, now(), { showProgress: true, expected: customers });
    say(
      `Imported ${fmt(report.imported)} customers in ${report.seconds.toFixed(1)} s (${fmt(Math.round(report.imported / report.seconds))}/s), ${report.rejected.length} rejected.\n`,
    );
    say(tiersTable(await countTiers(runtime)));
  });
}
