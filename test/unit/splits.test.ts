import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chooseVariant, decide, isHoldout, prepare } from "#functions/campaign/decide.ts";
import { type Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { PLAYBOOKS } from "#functions/campaign/vocabulary.ts";
import { CampaignValidationError } from "#platform/errors.ts";
import { config, customer, dormantCampaign } from "../fixtures/campaigns.ts";

// Issue 19: variants that share a tier split its customers by weight, deterministically by hash.
const NOON = new Date("2026-12-01T04:00:00Z");
const SECRET = "secret-for-tests-0123456789";
const N = 10_000;

const split = (weights: [number | undefined, number | undefined], overrides: Partial<Campaign> = {}) =>
  dormantCampaign({
    segment: { scheme: "retail", tiers: ["potential"], dormantDays: 180 },
    variants: [
      { id: "A", tiers: ["potential"], channel: "sms", template: "A {{name|客户}}", weight: weights[0] },
      { id: "B", tiers: ["potential"], channel: "sms", template: "B {{name|客户}}", weight: weights[1] },
    ],
    ...overrides,
  });
const ctxOf = (campaign: Campaign) => prepare(parseCampaign(campaign, config), config, NOON, SECRET);
const variantsOf = (campaign: Campaign, n = N) => {
  const ctx = ctxOf(campaign);
  return Array.from({ length: n }, (_, i) => decide(customer({ customerId: `C${i}` }), undefined, ctx));
};
/** |observed − expected| within 3 binomial standard deviations. */
const within3Sigma = (observed: number, n: number, p: number) =>
  expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(3 * Math.sqrt(n * p * (1 - p)));

describe("A/B splits within a tier", () => {
  it("splits 50/50 on equal weights: both variants reach customers, within ±3σ", () => {
    const decisions = variantsOf(split([1, 1]));
    const a = decisions.filter((d) => d.variant === "A").length;
    const b = decisions.filter((d) => d.variant === "B").length;
    expect(a + b).toBe(N);
    within3Sigma(b, N, 0.5);
    expect(decisions.every((d) => d.decision === "eligible")).toBe(true);
    expect(decisions.find((d) => d.variant === "B")?.message?.text).toContain("B 王伟");
  });

  it.each([
    [70, 30],
    [9, 1],
    [1, 3],
  ])("splits %i:%i in proportion to the weights, within ±3σ", (wa, wb) => {
    const decisions = variantsOf(split([wa, wb]));
    within3Sigma(decisions.filter((d) => d.variant === "B").length, N, wb / (wa + wb));
  });

  it("splits three ways by integer weights", () => {
    const campaign = split([2, 1]);
    campaign.variants.push({ id: "C", tiers: ["potential"], channel: "sms", template: "C", weight: 1 });
    const decisions = variantsOf(campaign);
    within3Sigma(decisions.filter((d) => d.variant === "A").length, N, 0.5);
    within3Sigma(decisions.filter((d) => d.variant === "B").length, N, 0.25);
    within3Sigma(decisions.filter((d) => d.variant === "C").length, N, 0.25);
  });

  it("issue 19's bar: a 50/50 split within ±2 points on 100k customers, the same on every run", () => {
    const ctx = ctxOf(split([50, 50]));
    const draw = () =>
      Array.from({ length: 100_000 }, (_, i) => chooseVariant(ctx, "potential", `C${i}`, 400)!.variant.id);
    const first = draw();
    const share = first.filter((v) => v === "B").length / 100_000;
    expect(Math.abs(share - 0.5)).toBeLessThan(0.02);
    expect(draw()).toEqual(first);
  });

  it("puts every customer in the same variant on every call and every relaunch", () => {
    const first = variantsOf(split([1, 1])).map((d) => d.variant);
    const again = variantsOf(split([1, 1])).map((d) => d.variant);
    expect(again).toEqual(first);
    // Another campaign draws afresh: the split is per campaign, not per customer for ever.
    const other = variantsOf(split([1, 1], { campaignId: "other-campaign" })).map((d) => d.variant);
    expect(other).not.toEqual(first);
  });

  it("is independent of the holdout draw: the same variant whatever the holdout, and vice versa", () => {
    const none = variantsOf(split([1, 1], { holdoutPercent: 0 }));
    const some = variantsOf(split([1, 1], { holdoutPercent: 20 }));
    // The holdout never moves a customer to another variant (holdout rows keep the variant they would get).
    expect(some.map((d) => d.variant)).toEqual(none.map((d) => d.variant));
    // Re-weighting never moves a customer in or out of the holdout.
    const reweighted = variantsOf(split([9, 1], { holdoutPercent: 20 }));
    expect(reweighted.map((d) => d.decision)).toEqual(some.map((d) => d.decision));
    // The holdout takes its share of each variant alike: P(holdout | A) ≈ P(holdout | B) ≈ 20%.
    for (const v of ["A", "B"]) {
      const of = some.filter((d) => d.variant === v);
      within3Sigma(of.filter((d) => d.decision === "holdout").length, of.length, 0.2);
    }
    // And the holdout is the campaign's and customer's draw alone.
    for (const [i, d] of some.entries())
      expect(d.decision === "holdout").toBe(isHoldout("dormant-test", `C${i}`, 20));
  });

  it("splits only the tiers variants share; a variant's other tiers are its own", () => {
    const campaign = dormantCampaign({
      variants: [
        { id: "A", tiers: ["potential", "quality"], channel: "sms", template: "A", weight: 1 },
        { id: "B", tiers: ["potential"], channel: "sms", template: "B", weight: 1 },
      ],
    });
    const ctx = ctxOf(campaign);
    const quality = Array.from({ length: 2_000 }, (_, i) =>
      decide(customer({ customerId: `Q${i}`, aum: 60_000 }), undefined, ctx),
    );
    expect(quality.every((d) => d.variant === "A")).toBe(true);
    const potential = Array.from({ length: 2_000 }, (_, i) =>
      decide(customer({ customerId: `P${i}` }), undefined, ctx),
    );
    within3Sigma(potential.filter((d) => d.variant === "B").length, 2_000, 0.5);
  });

  it("keeps win-back before reactivation: variants with different minInactiveDays do not split", () => {
    const campaign = dormantCampaign({
      variants: [
        { id: "W", tiers: ["potential"], channel: "sms", template: "W", minInactiveDays: 365 },
        { id: "A", tiers: ["potential"], channel: "sms", template: "A" },
        { id: "B", tiers: ["quality"], channel: "sms", template: "B" },
      ],
    });
    const ctx = ctxOf(campaign);
    expect(decide(customer({ lastTransactionAt: "2025-06-01T00:00:00Z" }), undefined, ctx).variant).toBe("W");
    expect(decide(customer({ lastTransactionAt: "2026-03-01T00:00:00Z" }), undefined, ctx).variant).toBe("A");
  });

  it("splits win-back variants among themselves when they share a tier and a threshold", () => {
    const campaign = dormantCampaign({
      variants: [
        { id: "W1", tiers: ["potential"], channel: "sms", template: "W1", minInactiveDays: 365, weight: 1 },
        { id: "W2", tiers: ["potential"], channel: "sms", template: "W2", minInactiveDays: 365, weight: 1 },
        { id: "A", tiers: ["potential", "quality"], channel: "sms", template: "A" },
      ],
    });
    const ctx = ctxOf(campaign);
    const lapsed = Array.from({ length: 2_000 }, (_, i) =>
      decide(customer({ customerId: `L${i}`, lastTransactionAt: "2025-06-01T00:00:00Z" }), undefined, ctx),
    );
    within3Sigma(lapsed.filter((d) => d.variant === "W2").length, 2_000, 0.5);
    expect(lapsed.some((d) => d.variant === "A")).toBe(false);
  });
});

describe("overlapping variants without weights are refused, never silently dropped", () => {
  const problemsOf = (campaign: unknown) => {
    try {
      parseCampaign(campaign, config);
    } catch (err) {
      expect(err).toBeInstanceOf(CampaignValidationError);
      expect((err as CampaignValidationError).code).toBe("invalid_campaign");
      expect((err as CampaignValidationError).exitCode).toBe(2);
      return (err as CampaignValidationError).problems;
    }
    return expect.unreachable("the campaign was accepted");
  };

  it("names the variants and the tier they share", () => {
    expect(problemsOf(split([undefined, undefined]))).toEqual([
      'variants: "A" and "B" share tier "potential" with no weight: give each of them a weight (e.g. "weight": 50) to split the tier between them, or give them different tiers',
    ]);
  });

  it("names only the variants missing a weight when some have one", () => {
    const problems = problemsOf(split([1, undefined]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^variants\.1\.weight: "B" shares tier "potential" with "A"/);
  });

  it("names every tier the same variants share in one problem", () => {
    const campaign = dormantCampaign({
      variants: [
        { id: "A", tiers: ["potential", "quality"], channel: "sms", template: "A" },
        { id: "B", tiers: ["potential", "quality"], channel: "sms", template: "B" },
      ],
    });
    const problems = problemsOf(campaign);
    expect(problems).toEqual([
      expect.stringMatching(/^variants: "A" and "B" share tiers "potential" and "quality" with no weight/),
    ]);
  });

  it("refuses a weight that is not a positive integer, field by field", () => {
    const problems = problemsOf(split([0.5, -1]));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^variants\.0\.weight:/),
        expect.stringMatching(/^variants\.1\.weight:/),
      ]),
    );
  });

  it("accepts the example campaigns as they are: one per playbook", () => {
    for (const name of PLAYBOOKS)
      expect(() =>
        parseCampaign(JSON.parse(readFileSync(`examples/${name}.json`, "utf8")), config),
      ).not.toThrow();
  });
});
