const Z95 = 1.959963984540054;

/** Wilson score interval for a proportion x/n. */
export function wilson(x: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Newcombe's hybrid score interval (method 10) for p1 − p2 from two independent groups: each
 * proportion's Wilson interval combined by the square-and-add rule. Good coverage at small counts
 * and rates near 0, where the Wald interval fails.
 */
export function newcombeDiff(x1: number, n1: number, x2: number, n2: number, z = Z95): [number, number] {
  const p1 = n1 ? x1 / n1 : 0;
  const p2 = n2 ? x2 / n2 : 0;
  const [l1, u1] = wilson(x1, n1, z);
  const [l2, u2] = wilson(x2, n2, z);
  const d = p1 - p2;
  const lower = d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2);
  const upper = d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2);
  return [Math.max(-1, lower), Math.min(1, upper)];
}

export interface Stratum {
  treated: number;
  treatedConverted: number;
  holdout: number;
  holdoutConverted: number;
  weight: number;
}

/**
 * Stratified uplift across tiers: Σ w·(p1 − p2) with weights ∝ tier audience; the interval combines
 * each tier's Newcombe half-widths in quadrature (weighted), which reduces to Newcombe for one tier.
 */
export function stratifiedUplift(strata: Stratum[]): { uplift: number; ci95: [number, number] } {
  const usable = strata.filter((s) => s.treated > 0 && s.holdout > 0 && s.weight > 0);
  const total = usable.reduce((a, s) => a + s.weight, 0);
  if (total === 0) return { uplift: 0, ci95: [-1, 1] };
  let uplift = 0;
  let lowerVar = 0;
  let upperVar = 0;
  for (const s of usable) {
    const w = s.weight / total;
    const d = s.treatedConverted / s.treated - s.holdoutConverted / s.holdout;
    const [lo, hi] = newcombeDiff(s.treatedConverted, s.treated, s.holdoutConverted, s.holdout);
    uplift += w * d;
    lowerVar += (w * (d - lo)) ** 2;
    upperVar += (w * (hi - d)) ** 2;
  }
  return { uplift, ci95: [uplift - Math.sqrt(lowerVar), uplift + Math.sqrt(upperVar)] };
}
