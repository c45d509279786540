import { counterItems, parseCounterSk } from "#functions/funnel/counters.ts";
import { STAGES, type Stage } from "#functions/ledger/rows.ts";
import type { Repo } from "#platform/repo.ts";
import { newcombeDiff, stratifiedUplift } from "./stats.ts";
import { readUnique } from "./unique.ts";

export type StageCounts = Record<Stage, number>;

/** A treated group's conversion against its holdout (a tier's, a branch's or an RM's). */
export interface UpliftFigures {
  holdout: number;
  holdoutConverted: number;
  conversionRate: number;
  holdoutConversionRate: number;
  uplift: number;
  upliftCi95: [number, number];
  incrementalConversions: number;
}

export interface TierFunnel extends StageCounts, UpliftFigures {}

/** One variant in one tier against the tier's holdout (the split never reads the holdout draw). */
export interface VariantUplift {
  /** The variant's treated in the tier: its eligible recipients, the uplift's base. */
  treated: number;
  converted: number;
  conversionRate: number;
  /** The tier's whole holdout: the control every variant of the tier shares. */
  holdout: number;
  holdoutConverted: number;
  holdoutConversionRate: number;
  uplift: number;
  upliftCi95: [number, number];
}

export interface Funnel {
  campaignId: string;
  total: StageCounts & {
    holdout: number;
    holdoutConverted: number;
    uplift: number;
    upliftCi95: [number, number];
    incrementalConversions: number;
  };
  byTier: Record<string, TierFunnel>;
  byVariant: Record<string, StageCounts>;
  /** Per variant, per tier: conversion of the variant's treated minus the tier's holdout conversion. */
  variantUplift: Record<string, Record<string, VariantUplift>>;
  byChannel: Record<string, StageCounts>;
  byDay: Record<string, StageCounts>;
  /**
   * Unique events as they happened (not cumulative): recipients who opened, clicked or replied at
   * least once, in total, per tier and per day.
   */
  unique: Awaited<ReturnType<typeof readUnique>>;
  method: string;
}

const emptyStages = (): StageCounts => Object.fromEntries(STAGES.map((s) => [s, 0])) as StageCounts;
const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * A group's funnel with its treated conversion against its holdout (a tier's, a branch's, an RM's).
 * Holdout rows are counted at "targeted" and "eligible" too; the audience is both groups.
 */
export function withUplift(t: StageCounts, h: StageCounts): StageCounts & UpliftFigures {
  const holdout = h.eligible;
  const base = t.eligible;
  const rate = base ? t.converted / base : 0;
  const holdoutRate = holdout ? h.converted / holdout : 0;
  const ci = newcombeDiff(t.converted, base, h.converted, holdout);
  return {
    ...t,
    targeted: t.targeted + h.targeted,
    holdout,
    holdoutConverted: h.converted,
    conversionRate: round(rate),
    holdoutConversionRate: round(holdoutRate),
    uplift: round(rate - holdoutRate),
    upliftCi95: [round(ci[0]), round(ci[1])],
    incrementalConversions: Math.round((rate - holdoutRate) * base),
  };
}

/**
 * Reads a campaign's funnel: one query over its counter partition (tiers × variants × channels ×
 * days × stages items), so the cost does not grow with the number of recipients.
 */
export async function readFunnel(repo: Repo, campaignId: string): Promise<Funnel> {
  const treated = new Map<string, StageCounts>();
  const held = new Map<string, StageCounts>();
  const byVariant: Record<string, StageCounts> = {};
  const treatedByVariant = new Map<string, Map<string, StageCounts>>();
  const byChannel: Record<string, StageCounts> = {};
  const byDay: Record<string, StageCounts> = {};
  for await (const item of counterItems(repo, campaignId)) {
    const c = parseCounterSk(String(item.SK));
    const n = Number(item.n ?? 0);
    const group = c.holdout ? held : treated;
    const counts = group.get(c.tier) ?? emptyStages();
    counts[c.stage] += n;
    group.set(c.tier, counts);
    if (!c.holdout) {
      (byVariant[c.variant] ??= emptyStages())[c.stage] += n;
      const ofVariant = treatedByVariant.get(c.variant) ?? new Map<string, StageCounts>();
      const inTier = ofVariant.get(c.tier) ?? emptyStages();
      inTier[c.stage] += n;
      ofVariant.set(c.tier, inTier);
      treatedByVariant.set(c.variant, ofVariant);
      (byChannel[c.channel] ??= emptyStages())[c.stage] += n;
      (byDay[c.day] ??= emptyStages())[c.stage] += n;
    }
  }
  const tiers = new Set([...treated.keys(), ...held.keys()]);
  const byTier: Record<string, TierFunnel> = {};
  const total = {
    ...emptyStages(),
    holdout: 0,
    holdoutConverted: 0,
    uplift: 0,
    upliftCi95: [0, 0] as [number, number],
    incrementalConversions: 0,
  };
  const strata = [];
  for (const tier of [...tiers].sort()) {
    const t = treated.get(tier) ?? emptyStages();
    const h = held.get(tier) ?? emptyStages();
    const row = withUplift(t, h);
    byTier[tier] = row;
    for (const s of STAGES) total[s] += row[s];
    total.holdout += row.holdout;
    total.holdoutConverted += row.holdoutConverted;
    total.incrementalConversions += row.incrementalConversions;
    strata.push({
      treated: t.eligible,
      treatedConverted: t.converted,
      holdout: row.holdout,
      holdoutConverted: row.holdoutConverted,
      weight: row.targeted,
    });
  }
  // "-": recipients decided without a variant (no_variant exclusions) have no uplift to show.
  const variantUplift: Record<string, Record<string, VariantUplift>> = {};
  for (const [variant, tiersOf] of [...treatedByVariant].sort(([a], [b]) => a.localeCompare(b))) {
    if (variant === "-") continue;
    for (const [tier, t] of [...tiersOf].sort(([a], [b]) => a.localeCompare(b))) {
      if (t.eligible === 0) continue;
      const h = held.get(tier) ?? emptyStages();
      const rate = t.converted / t.eligible;
      const holdoutRate = h.eligible ? h.converted / h.eligible : 0;
      const ci = newcombeDiff(t.converted, t.eligible, h.converted, h.eligible);
      (variantUplift[variant] ??= {})[tier] = {
        treated: t.eligible,
        converted: t.converted,
        conversionRate: round(rate),
        holdout: h.eligible,
        holdoutConverted: h.converted,
        holdoutConversionRate: round(holdoutRate),
        uplift: round(rate - holdoutRate),
        upliftCi95: [round(ci[0]), round(ci[1])],
      };
    }
  }
  const overall = stratifiedUplift(strata);
  total.uplift = round(overall.uplift);
  total.upliftCi95 = [round(overall.ci95[0]), round(overall.ci95[1])];
  return {
    campaignId,
    total,
    byTier,
    byVariant,
    variantUplift,
    byChannel,
    byDay,
    unique: await readUnique(repo, campaignId),
    method:
      "absolute uplift = treated − holdout conversion rate; 95% CI by Newcombe's hybrid score (Wilson) method; total stratified by tier audience",
  };
}

/**
 * A campaign's treated recipients per stage so far, from the same counters as the funnel (a send
 * released later by `tick` counts when it goes out): what a campaign list shows as "sent".
 */
export async function stageTotals(repo: Repo, campaignId: string): Promise<StageCounts> {
  const totals = emptyStages();
  for await (const item of counterItems(repo, campaignId)) {
    const c = parseCounterSk(String(item.SK));
    if (!c.holdout) totals[c.stage] += Number(item.n ?? 0);
  }
  return totals;
}
