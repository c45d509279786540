import { listCampaigns } from "#functions/campaign/record.ts";
import { parsePerfSk, perfItems } from "#functions/funnel/counters.ts";
import { STAGES, type Stage } from "#functions/ledger/rows.ts";
import { csvRow } from "#platform/csv.ts";
import type { Repo } from "#platform/repo.ts";
import { type StageCounts, type UpliftFigures, withUplift } from "./core.ts";

/** One branch (or one RM of a branch): its funnel, and its treated conversion against its holdout. */
export interface PerformanceRow extends StageCounts, UpliftFigures {
  branchId: string;
  rmId?: string;
}

export interface PerformanceQuery {
  by: "branch" | "rm";
  /** One campaign; without it, every campaign. */
  campaignId?: string;
  branchId?: string;
  rmId?: string;
  /** Local days (YYYY-MM-DD), inclusive: counts of stage moves on those days only. */
  from?: string;
  to?: string;
}

/** A counter read from the performance partitions: who, when, which stage, which group. */
export interface PerfCount {
  campaignId: string;
  branchId?: string;
  rmId?: string;
  day: string;
  stage: Stage;
  holdout: boolean;
  n: number;
}

const emptyStages = (): StageCounts => Object.fromEntries(STAGES.map((s) => [s, 0])) as StageCounts;
/** What a recipient without a branch or an RM is shown under. */
export const NONE = "(none)";

/** Every performance counter of the campaigns asked for, over their write-sharded parts. */
export async function* perfCounts(repo: Repo, campaignId?: string): AsyncGenerator<PerfCount> {
  const ids = campaignId ? [campaignId] : (await listCampaigns(repo)).map((c) => c.campaignId);
  for (const id of ids)
    for await (const item of perfItems(repo, id)) {
      const c = parsePerfSk(String(item.SK));
      yield { campaignId: id, ...c, n: Number(item.n ?? 0) };
    }
}

/** Folds counters into funnel rows: treated and holdout apart, as the campaign funnel does per tier. */
export function foldPerformance(counts: Iterable<PerfCount>, q: PerformanceQuery) {
  const groups = new Map<string, { branchId: string; rmId?: string; t: StageCounts; h: StageCounts }>();
  for (const c of counts) {
    const branchId = c.branchId ?? NONE;
    if (q.branchId && branchId !== q.branchId) continue;
    if (q.rmId && (c.rmId ?? NONE) !== q.rmId) continue;
    if (q.from && c.day < q.from) continue;
    if (q.to && c.day > q.to) continue;
    const rmId = q.by === "rm" ? (c.rmId ?? NONE) : undefined;
    const k = `${branchId}\u0000${rmId ?? ""}`;
    const g = groups.get(k) ?? {
      branchId,
      ...(rmId !== undefined ? { rmId } : {}),
      t: emptyStages(),
      h: emptyStages(),
    };
    (c.holdout ? g.h : g.t)[c.stage] += c.n;
    groups.set(k, g);
  }
  const rows = [...groups.values()]
    .map((g) => toRow(g.branchId, g.rmId, g.t, g.h))
    .sort((a, b) => a.branchId.localeCompare(b.branchId) || (a.rmId ?? "").localeCompare(b.rmId ?? ""));
  const t = emptyStages();
  const h = emptyStages();
  for (const g of groups.values())
    for (const s of STAGES) {
      t[s] += g.t[s];
      h[s] += g.h[s];
    }
  return { rows, total: toRow(q.branchId ?? "(all)", q.rmId, t, h) };
}

function toRow(branchId: string, rmId: string | undefined, t: StageCounts, h: StageCounts): PerformanceRow {
  return { branchId, ...(rmId !== undefined ? { rmId } : {}), ...withUplift(t, h) };
}

/** Branch or RM performance: the funnel and uplift per branch (or RM), from the performance counters. */
export async function readPerformance(repo: Repo, q: PerformanceQuery) {
  const counts: PerfCount[] = [];
  for await (const c of perfCounts(repo, q.campaignId)) counts.push(c);
  const { rows, total } = foldPerformance(counts, q);
  return {
    by: q.by,
    ...(q.campaignId ? { campaignId: q.campaignId } : {}),
    ...(q.branchId ? { branchId: q.branchId } : {}),
    ...(q.rmId ? { rmId: q.rmId } : {}),
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
    rows,
    total,
    method:
      "performance counters per branch × RM × day × stage (the ledger row's branch and RM at decision); uplift = treated − holdout conversion rate, 95% CI by Newcombe",
  };
}

export const PERFORMANCE_COLUMNS = [
  "branchId",
  "rmId",
  ...STAGES,
  "holdout",
  "holdoutConverted",
  "conversionRate",
  "holdoutConversionRate",
  "uplift",
  "upliftLow",
  "upliftHigh",
  "incrementalConversions",
] as const;

export function performanceCsv(report: { rows: PerformanceRow[] }): string {
  const lines = [csvRow(PERFORMANCE_COLUMNS)];
  for (const r of report.rows) {
    const cells: Record<string, unknown> = {
      ...r,
      rmId: r.rmId ?? "",
      upliftLow: r.upliftCi95[0],
      upliftHigh: r.upliftCi95[1],
    };
    lines.push(csvRow(PERFORMANCE_COLUMNS.map((c) => cells[c])));
  }
  return lines.join("");
}
