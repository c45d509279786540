import { countTier } from "#functions/customers/store.ts";
import type { Runtime } from "#local/runtime.ts";
import { PRIMARY_SCHEME } from "#platform/config.ts";
import { mapLimit } from "#platform/repo.ts";
import { fmt, table } from "./output.ts";

export type TierCounts = Record<string, Record<string, number>>;

/** Counts per tier of the primary schemes (CONTRACT.md's `tiers`): parallel COUNT queries over the shards. */
export async function countTiers(
  runtime: Runtime,
  schemes: string[] = Object.values(PRIMARY_SCHEME),
): Promise<TierCounts> {
  const out: TierCounts = {};
  const jobs = schemes.flatMap((scheme) =>
    (runtime.config.tierSchemes[scheme]?.tiers ?? []).map((tier) => ({ scheme, tier: tier.name })),
  );
  const counts = await mapLimit(jobs, 2, (job) =>
    countTier(runtime.repo, job.scheme, job.tier, runtime.config),
  );
  jobs.forEach((job, i) => {
    out[job.scheme] ??= {};
    out[job.scheme]![job.tier] = counts[i]!;
  });
  return out;
}

export function tiersTable(counts: TierCounts): string {
  const rows: (string | number)[][] = [];
  for (const [scheme, tiers] of Object.entries(counts)) {
    const total = Object.values(tiers).reduce((a, b) => a + b, 0);
    for (const [tier, n] of Object.entries(tiers))
      rows.push([scheme, tier, fmt(n), total ? `${((n / total) * 100).toFixed(1)}%` : "-"]);
  }
  return table(["scheme", "tier", "customers", "share"], rows);
}
