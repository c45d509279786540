import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHoldout } from "#functions/campaign/decide.ts";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { type Customer, CustomerInput, isDormant, toCustomer } from "#functions/customers/record.ts";
import type { Runtime } from "#local/runtime.ts";
import { syntheticCustomers } from "#local/synthetic.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { localBank } from "./bank.ts";

const BANK_AT = new Date("2027-02-28T00:00:00Z");
const NOW = new Date("2027-02-26T02:00:00Z"); // 10:00 Shanghai, before the salon waves
let runtime: Runtime;
let bank: Customer[];

describe("previews of the four playbooks on the synthetic bank", () => {
  beforeAll(async () => {
    runtime = await localBank(5_000, BANK_AT);
    bank = [...syntheticCustomers({ customers: 5_000, seed: 7, at: BANK_AT })].map((r) =>
      toCustomer(CustomerInput.parse(r), runtime.config),
    );
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it.each(["dormant-reactivation", "salon-invite", "referral-drive", "key-maintenance"])(
    "%s reconciles per tier, and its reasons match the data",
    async (name) => {
      const campaign = readCampaignFile(`examples/${name}.json`, runtime.config);
      const p = await previewCampaign(
        runtime.repo,
        campaign,
        runtime.config,
        NOW,
        "secret-for-tests-0123456789",
      );
      expect(p.audience).toBeGreaterThan(0);
      expect(p.problems).toEqual([]);
      for (const [tier, t] of Object.entries(p.byTier)) {
        expect(t.audience, tier).toBe(t.eligible + t.deferred + t.holdout + t.excluded);
        expect(t.excluded, tier).toBe(Object.values(t.excludedBy).reduce((a, b) => a + b, 0));
      }
      const excludedTotal = Object.values(p.excluded).reduce((a, b) => a + b, 0);
      expect(p.audience).toBe(p.eligible + p.deferred + p.holdout + excludedTotal);

      // The same questions asked of the raw data, independently of the engine.
      const tiers = new Set(campaign.segment.tiers);
      const audience = bank.filter(
        (c) =>
          c.kind === "retail" &&
          tiers.has(c.tier) &&
          (campaign.segment.dormantDays === undefined || isDormant(c, NOW, campaign.segment.dormantDays)),
      );
      expect(p.audience).toBe(audience.length);
      // risk_flagged is the first rule: every flagged audience member is excluded for it.
      expect(p.excluded.risk_flagged ?? 0).toBe(audience.filter((c) => c.riskFlag).length);
      // Holdout is drawn among those no rule excluded: never more than the draw over the audience.
      const drawn = audience.filter(
        (c) => !c.riskFlag && isHoldout(campaign.campaignId, c.customerId, campaign.holdoutPercent),
      ).length;
      expect(p.holdout).toBeLessThanOrEqual(drawn);
      if (campaign.holdoutPercent === 0) expect(p.holdout).toBe(0);
      // Tiers whose only variant is SMS without fallback: consent and phone decide, tier by tier.
      for (const variant of campaign.variants) {
        const onlyVariant = variant.tiers.filter(
          (t) => campaign.variants.filter((v) => v.tiers.includes(t)).length === 1,
        );
        if (variant.channel !== "sms" || variant.fallbackChannel) continue;
        for (const tier of onlyVariant) {
          const inTier = audience.filter((c) => c.tier === tier && !c.riskFlag);
          const t = p.byTier[tier]!;
          expect(t.excludedBy.no_consent ?? 0, tier).toBe(inTier.filter((c) => !c.consentSms).length);
          expect(t.excludedBy.uncontactable ?? 0, tier).toBe(
            inTier.filter((c) => c.consentSms && !c.phone).length,
          );
        }
      }
      if (name === "key-maintenance") {
        // RM tasks need no marketing consent; private banking is reached through RMs only.
        expect(p.excluded.no_consent ?? 0).toBe(0);
        expect(p.excluded.private_banking ?? 0).toBe(0);
        // (An RM's daily capacity may push their tasks to later days: deferred, not dropped.)
        expect((p.byTier.private?.eligible ?? 0) + (p.byTier.private?.deferred ?? 0)).toBeGreaterThan(0);
      }
      if (name === "salon-invite") {
        // Before the waves, every invitation is deferred to its wave: key first, then quality.
        expect(p.eligible).toBe(0);
        const dueByTier = new Map(p.samples.map((s) => [s.tier, s.dueAt]));
        if (dueByTier.get("key") && dueByTier.get("quality"))
          expect(dueByTier.get("key")! < dueByTier.get("quality")!).toBe(true);
      }
    },
  );
});
