import { describe, expect, it } from "vitest";
import { newcombeDiff, stratifiedUplift, wilson } from "#functions/funnel/stats.ts";
import { rng } from "#local/synthetic.ts";

describe("intervals", () => {
  it("matches Newcombe's published example (56/70 vs 48/80)", () => {
    // Newcombe (1998), Statistics in Medicine 17:873, table II, method 10: 0.0524 to 0.3339.
    const [lo, hi] = newcombeDiff(56, 70, 48, 80);
    expect(lo).toBeCloseTo(0.0524, 3);
    expect(hi).toBeCloseTo(0.3339, 3);
  });

  it("gives a Wilson interval inside [0, 1] even at zero counts", () => {
    const [lo, hi] = wilson(0, 20);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(0.1611, 3);
  });

  it("covers the true uplift in at least 90% of 50 seeded simulated campaigns", () => {
    const trueEffect = 0.03;
    let covered = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const r = rng(seed);
      const strata = [
        { base: 0.04, treated: 3000, holdout: 160, weight: 3160 },
        { base: 0.06, treated: 1500, holdout: 80, weight: 1580 },
      ].map((s) => {
        let tc = 0;
        let hc = 0;
        for (let i = 0; i < s.treated; i++) if (r() < s.base + trueEffect) tc++;
        for (let i = 0; i < s.holdout; i++) if (r() < s.base) hc++;
        return {
          treated: s.treated,
          treatedConverted: tc,
          holdout: s.holdout,
          holdoutConverted: hc,
          weight: s.weight,
        };
      });
      const { ci95 } = stratifiedUplift(strata);
      if (ci95[0] <= trueEffect && trueEffect <= ci95[1]) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(45);
  });
});
