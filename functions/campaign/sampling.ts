import { hash32 } from "#platform/hash.ts";

/**
 * The sampled estimate's math (pure: no store, no clock). The builder's estimate reads a bounded,
 * deterministic random sample of each stratum (a primary tier) and scales its counts to the
 * population, with an interval.
 *
 * Design: threshold ("bottom-k") sampling on a hash. Every customer has a sample value
 * u = hash32(customerId + "#sample") / 2^32, uniform in [0, 1) and independent of the tier, the shard,
 * the holdout draw and the variant draw. The sample index orders each tier shard by u, so the first
 * k + 1 entries of each shard are its k + 1 smallest values. A stratum's rate τ is the smallest
 * (k + 1)-th value over its shards (1 for a shard read to its end), and its sample is every customer
 * with u < τ: given τ, each customer is in it independently with probability τ (Poisson sampling).
 * The work is at most shards × (k + 1) items per stratum, whatever the stratum's size.
 *
 * A count y seen in a stratum sampled at rate τ estimates y / τ (Horvitz–Thompson). Its interval is
 * the score (Wilson-type) interval for Poisson sampling: y given the true count Y is
 * Binomial(Y, τ) ≈ mean λ = Yτ, variance λ(1 − τ); solving (y − λ)² = z²λ(1 − τ) for λ gives
 *   λ = y + z²c/2 ± z·√(c·(y + z²c/4)),  c = 1 − τ,
 * and the bounds on Y are λ / τ. Unlike the normal approximation it is never of zero width at y = 0
 * (unless τ = 1), and at τ = 1 (everything read) it is exactly [y, y]. The low end is never below y
 * (those customers exist). Strata are combined by adding estimates and adding the half-widths on each
 * side in quadrature (exact for one stratum; zero width when every stratum was read whole).
 */

export const SAMPLE_SALT = "#sample";

/** A customer's sample value as an integer in [0, 2^32). */
export function sampleValue(customerId: string): number {
  return hash32(customerId + SAMPLE_SALT);
}

/** The sample index's sort key: the value in fixed-width hex (so string order is numeric order), then the id. */
export function sampleSortKey(customerId: string): string {
  return `${sampleValue(customerId).toString(16).padStart(8, "0")}#${customerId}`;
}

/** The value in [0, 1) a sort key carries. */
export function sampleUnit(sortKey: string): number {
  return Number.parseInt(sortKey.slice(0, 8), 16) / 0x1_0000_0000;
}

export interface ShardRead<T> {
  /** The shard's first entries in sample order, each with its value in [0, 1). */
  items: { u: number; item: T }[];
  /** True when the shard had no more entries than these (read to its end). */
  complete: boolean;
}

/**
 * A stratum's rate and sample from its shards' first entries: τ is the smallest value that ended an
 * incomplete shard's read (its last entry, the (k + 1)-th), 1 when every shard was read to its end;
 * the sample is every entry below τ (all of them at τ = 1).
 */
export function thresholdSample<T>(shards: ShardRead<T>[]): { rate: number; items: T[] } {
  let rate = 1;
  for (const s of shards) {
    if (s.complete) continue;
    const last = s.items.at(-1);
    if (last && last.u < rate) rate = last.u;
  }
  // At τ < 1 an incomplete shard's last entry is ≥ τ (τ is the least of them), so `u < τ` leaves it out.
  const items = shards.flatMap((s) => (rate === 1 ? s.items : s.items.filter((e) => e.u < rate)));
  return { rate, items: items.map((e) => e.item) };
}

export interface Count {
  /** The estimate, rounded to a whole count. */
  estimate: number;
  /** The interval at the estimate's confidence (whole counts, low rounded down, high up). */
  low: number;
  high: number;
}

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/** Score interval for the count of a stratum in which `y` were seen at sampling rate `rate` (0 < rate ≤ 1). */
export function scoreInterval(
  y: number,
  rate: number,
  z = Z95,
): { estimate: number; low: number; high: number } {
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${rate}`);
  if (!(y >= 0)) throw new RangeError(`a count must be non-negative, got ${y}`);
  const c = 1 - rate;
  const centre = y + (z * z * c) / 2;
  const half = z * Math.sqrt(c * (y + (z * z * c) / 4));
  return {
    estimate: y / rate,
    low: Math.max(y, (centre - half) / rate),
    high: Math.max(y / rate, (centre + half) / rate),
  };
}

/** One stratum's part of a count: what was seen there and the stratum's rate. */
export interface StratumCount {
  y: number;
  rate: number;
}

/** A count over strata: estimates add, half-widths add in quadrature on each side. */
export function stratifiedCount(parts: StratumCount[], z = Z95): Count {
  let estimate = 0;
  let seen = 0;
  let below = 0;
  let above = 0;
  for (const { y, rate } of parts) {
    const s = scoreInterval(y, rate, z);
    estimate += s.estimate;
    seen += y;
    below += (s.estimate - s.low) ** 2;
    above += (s.high - s.estimate) ** 2;
  }
  // Rounding guards: an exact count stays exact (no 0.9999… from division).
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  const low = Math.max(seen, Math.floor(round(estimate - Math.sqrt(below))));
  const high = Math.ceil(round(estimate + Math.sqrt(above)));
  return {
    estimate: Math.round(estimate),
    low: Math.min(low, Math.round(estimate)),
    high: Math.max(high, Math.round(estimate)),
  };
}

/**
 * Counts cells (a tier's eligible, a variant's recipients, a reason…) per stratum, then answers each
 * cell's estimate and interval. Strata must be declared with their rate before anything is added.
 */
export class SampleTally {
  private readonly rates = new Map<string, number>();
  private readonly cells = new Map<string, Map<string, number>>();

  stratum(name: string, rate: number): void {
    if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${rate}`);
    this.rates.set(name, rate);
  }

  add(stratum: string, cell: string, n = 1): void {
    if (!this.rates.has(stratum)) throw new Error(`unknown stratum "${stratum}"`);
    const byStratum = this.cells.get(cell) ?? new Map<string, number>();
    byStratum.set(stratum, (byStratum.get(stratum) ?? 0) + n);
    this.cells.set(cell, byStratum);
  }

  /** Every cell name added so far with `prefix`, without it. */
  keys(prefix: string): string[] {
    return [...this.cells.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /** The raw number seen in the sample for a cell (all strata). */
  seen(cell: string): number {
    let n = 0;
    for (const y of this.cells.get(cell)?.values() ?? []) n += y;
    return n;
  }

  /**
   * A cell's estimate over `strata` (default: every stratum; a stratum where the cell was not seen
   * still widens its interval, since it may be there unseen). Name only the strata the cell can occur
   * in (a primary tier's cells occur in that tier alone).
   */
  count(cell: string, strata: readonly string[] = [...this.rates.keys()], z = Z95): Count {
    const byStratum = this.cells.get(cell);
    return stratifiedCount(
      strata.map((s) => {
        const rate = this.rates.get(s);
        if (rate === undefined) throw new Error(`unknown stratum "${s}"`);
        return { y: byStratum?.get(s) ?? 0, rate };
      }),
      z,
    );
  }

  /** True when every stratum was read whole (every count is exact). */
  get exact(): boolean {
    return [...this.rates.values()].every((r) => r === 1);
  }
}
