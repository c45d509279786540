import { loadCampaign } from "#functions/campaign/record.ts";
import { localDay } from "#functions/campaign/time.ts";
import { eventDepsOf, ingestEvent, ingestRecords } from "#functions/events/core.ts";
import type { Funnel } from "#functions/funnel/core.ts";
import {
  addCounters,
  counterItems,
  counterSk,
  parseCounterSk,
  parsePerfSk,
  perfItems,
  perfSk,
} from "#functions/funnel/counters.ts";
import { type LedgerRow, STAGES } from "#functions/ledger/rows.ts";
import type { Runtime } from "#local/runtime.ts";
import { simulateEvents } from "#local/simulate.ts";
import { rng } from "#local/synthetic.ts";
import { csvRow } from "#platform/csv.ts";
import { mapLimit } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { openSource, type SourceOptions } from "./import.ts";
import { fmt, table } from "./output.ts";

export async function ingestFile(runtime: Runtime, file: string, options: SourceOptions = {}) {
  return ingestRecords(await openSource(file, options), eventDepsOf(runtime.app.base()));
}

export async function* ledgerRowsOf(runtime: Runtime, campaignId: string): AsyncGenerator<LedgerRow> {
  for (let shard = 0; shard < runtime.config.shards; shard++)
    for await (const item of runtime.repo.queryAll(key.ledgerPartition(campaignId, shard)))
      yield item as unknown as LedgerRow;
}

export async function simulate(runtime: Runtime, campaignId: string, seed: number) {
  const record = await loadCampaign(runtime.repo, campaignId);
  const deps = eventDepsOf(runtime.app.base());
  const counts: Record<string, number> = {};
  let batch: unknown[] = [];
  const flush = async () => {
    await mapLimit(batch, 8, (e) => ingestEvent(e, deps));
    batch = [];
  };
  // Page by page, with one random sequence: memory stays flat however large the campaign.
  const r = rng(seed);
  let page: LedgerRow[] = [];
  const simulatePage = async () => {
    for (const event of simulateEvents(
      page,
      record.campaign.playbook,
      seed,
      undefined,
      record.campaign.referral?.minDeposit,
      r,
    )) {
      counts[event.type] = (counts[event.type] ?? 0) + 1;
      batch.push(event);
      if (batch.length >= 400) await flush();
    }
    page = [];
  };
  for await (const row of ledgerRowsOf(runtime, campaignId)) {
    page.push(row);
    if (page.length >= 1000) await simulatePage();
  }
  await simulatePage();
  await flush();
  return { campaignId, seed, events: counts };
}

/**
 * Recomputes the funnel counters and the branch/RM performance counters (PERF#…) from ledger rows and
 * compares them with the live ones. With `repair`, each difference is added to the campaign's
 * launch-day bucket (a crash between a row's settle and its counter write leaves counters short; a
 * campaign launched before the performance counters existed has none; the ledger is the truth), and
 * compared again. A repaired count lands on the launch day: totals are exact, day windows approximate.
 */
export async function rebuild(
  runtime: Runtime,
  campaignId: string,
  options: { repair?: boolean } = {},
): Promise<{
  campaignId: string;
  counters: number;
  matches: boolean;
  differences: { counter: string; live: number; ledger: number }[];
  repaired?: number;
}> {
  const { keyed, ...result } = await compareCounters(runtime, campaignId);
  if (!options.repair || result.matches) return result;
  const record = await loadCampaign(runtime.repo, campaignId);
  const day = localDay(new Date(record.launchedAt ?? record.createdAt), runtime.config.quietHours.timeZone);
  const increments = new Map<string, number>();
  for (const d of keyed) increments.set(d.at(day), d.ledger - d.live);
  await addCounters(runtime.repo, campaignId, increments);
  const { keyed: _left, ...after } = await compareCounters(runtime, campaignId);
  return { ...after, repaired: increments.size };
}

/** A counter's identity with its day left out ("*"): what the ledger can be compared on. */
interface Dims {
  /** The day-less key. */
  k: string;
  /** The live key of this counter on one day. */
  at: (day: string) => string;
}

function funnelDims(row: Parameters<typeof counterSk>[0], stage: (typeof STAGES)[number]): Dims {
  return { k: counterSk(row, "*", stage), at: (day) => counterSk(row, day, stage) };
}

function perfDims(row: Parameters<typeof perfSk>[0], stage: (typeof STAGES)[number]): Dims {
  return { k: perfSk(row, "*", stage), at: (day) => perfSk(row, day, stage) };
}

async function compareCounters(runtime: Runtime, campaignId: string) {
  await loadCampaign(runtime.repo, campaignId);
  const fromLedger = new Map<string, number>();
  const dims = new Map<string, Dims>();
  const count = (into: Map<string, number>, d: Dims, n: number) => {
    into.set(d.k, (into.get(d.k) ?? 0) + n);
    dims.set(d.k, d);
  };
  for await (const row of ledgerRowsOf(runtime, campaignId)) {
    for (let i = 0; i <= row.stage; i++) {
      count(fromLedger, funnelDims(row, STAGES[i]!), 1);
      count(fromLedger, perfDims(row, STAGES[i]!), 1);
    }
  }
  const live = new Map<string, number>();
  for await (const item of counterItems(runtime.repo, campaignId)) {
    const c = parseCounterSk(String(item.SK));
    const row = {
      tier: c.tier,
      variant: c.variant === "-" ? undefined : c.variant,
      channel: c.channel === "-" ? undefined : (c.channel as never),
      holdout: c.holdout,
    };
    count(live, funnelDims(row, c.stage), Number(item.n ?? 0));
  }
  for await (const item of perfItems(runtime.repo, campaignId)) {
    const c = parsePerfSk(String(item.SK));
    count(live, perfDims(c, c.stage), Number(item.n ?? 0));
  }
  const differences: { counter: string; live: number; ledger: number; at: (day: string) => string }[] = [];
  for (const k of new Set([...fromLedger.keys(), ...live.keys()])) {
    const a = live.get(k) ?? 0;
    const b = fromLedger.get(k) ?? 0;
    if (a !== b)
      differences.push({ counter: k.replace("#*#", "#"), live: a, ledger: b, at: dims.get(k)!.at });
  }
  return {
    campaignId,
    counters: fromLedger.size,
    matches: differences.length === 0,
    differences: differences.map(({ at: _a, ...d }) => d),
    keyed: differences,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

const UNIQUE_COLUMNS = ["opened", "clicked", "replied"] as const;

export function funnelText(f: Funnel): string {
  const unique = (counts: Record<string, number> | undefined) =>
    UNIQUE_COLUMNS.map((k) => fmt(counts?.[k] ?? 0));
  const rows = Object.entries(f.byTier).map(([tier, t]) => [
    tier,
    ...STAGES.map((s) => fmt(t[s])),
    ...unique(f.unique?.byTier[tier]),
    fmt(t.holdout),
    pct(t.conversionRate),
    pct(t.holdoutConversionRate),
    `${t.uplift >= 0 ? "+" : ""}${(t.uplift * 100).toFixed(2)} pp [${(t.upliftCi95[0] * 100).toFixed(2)}, ${(t.upliftCi95[1] * 100).toFixed(2)}]`,
  ]);
  rows.push([
    "total",
    ...STAGES.map((s) => fmt(f.total[s])),
    ...unique(f.unique?.total),
    fmt(f.total.holdout),
    "",
    "",
    `${f.total.uplift >= 0 ? "+" : ""}${(f.total.uplift * 100).toFixed(2)} pp [${(f.total.upliftCi95[0] * 100).toFixed(2)}, ${(f.total.upliftCi95[1] * 100).toFixed(2)}]`,
  ]);
  const upliftText = (u: { uplift: number; upliftCi95: [number, number] }) =>
    `${u.uplift >= 0 ? "+" : ""}${(u.uplift * 100).toFixed(2)} pp [${(u.upliftCi95[0] * 100).toFixed(2)}, ${(u.upliftCi95[1] * 100).toFixed(2)}]`;
  // A/B splits: each variant against its tier's holdout, shown when variants share a tier.
  const variantsPerTier = new Map<string, number>();
  for (const tiers of Object.values(f.variantUplift))
    for (const tier of Object.keys(tiers)) variantsPerTier.set(tier, (variantsPerTier.get(tier) ?? 0) + 1);
  const splitRows = Object.entries(f.variantUplift).flatMap(([variant, tiers]) =>
    Object.entries(tiers)
      .filter(([tier]) => (variantsPerTier.get(tier) ?? 0) > 1)
      .map(([tier, u]) => [
        variant,
        tier,
        fmt(u.treated),
        fmt(u.converted),
        pct(u.conversionRate),
        pct(u.holdoutConversionRate),
        upliftText(u),
      ]),
  );
  const splits = splitRows.length
    ? [
        "",
        "Split variants against their tier's holdout",
        "",
        table(
          ["variant", "tier", "treated", "converted", "conv", "holdout conv", "uplift (95% CI)"],
          splitRows,
        ),
      ]
    : [];
  return [
    `Funnel of ${f.campaignId}`,
    "",
    table(
      [
        "tier",
        ...STAGES,
        ...UNIQUE_COLUMNS.map((k) => `u.${k}`),
        "holdout",
        "conv",
        "holdout conv",
        "uplift (95% CI)",
      ],
      rows,
    ),
    "Stages are cumulative (converted counts as engaged); u.opened, u.clicked, u.replied are unique events as they happened.",
    ...splits,
    "",
    `Incremental conversions: ${fmt(f.total.incrementalConversions)}. ${f.method}.`,
  ].join("\n");
}

export function funnelCsv(f: Funnel): string {
  const header = ["tier", ...STAGES, "holdout", "holdoutConverted", "uplift", "upliftLow", "upliftHigh"];
  const lines = [csvRow(header)];
  for (const [tier, t] of Object.entries(f.byTier))
    lines.push(
      csvRow([
        tier,
        ...STAGES.map((s) => t[s]),
        t.holdout,
        t.holdoutConverted,
        t.uplift,
        t.upliftCi95[0],
        t.upliftCi95[1],
      ]),
    );
  return lines.join("").trimEnd();
}
