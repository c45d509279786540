import { describe, expect, it } from "vitest";
import { decide, inSegment, prepare } from "#functions/campaign/decide.ts";
import { type Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { ageOn, CustomerInput, mergeHistory, toCustomer } from "#functions/customers/record.ts";
import { importConverts } from "#functions/growth/conversions.ts";
import { parseConfig } from "#platform/config.ts";
import { CampaignValidationError, type ConfigError } from "#platform/errors.ts";
import { config, customer } from "../fixtures/campaigns.ts";

// Issue 19: each growth filter at its boundaries, and the conversion rules an import applies.
const NOON = new Date("2027-03-15T04:00:00Z"); // 12:00 Shanghai, 15 March 2027
const SECRET = "secret-for-tests-0123456789";

const ALL_RETAIL = ["mass", "potential", "quality", "key"];
function growth(segment: Partial<Campaign["segment"]>, overrides: Partial<Campaign> = {}): Campaign {
  return {
    campaignId: "growth-test",
    playbook: "tier-upgrade",
    segment: { scheme: "retail", tiers: ALL_RETAIL, ...segment },
    variants: [
      { id: "A", tiers: segment.tiers ?? ALL_RETAIL, channel: "sms", template: "{{name|客户}}您好" },
    ],
    holdoutPercent: 0,
    ...overrides,
  };
}
const ctxOf = (campaign: Campaign, at = NOON, cfg = config) =>
  prepare(parseCampaign(campaign, cfg), cfg, at, SECRET);
const inIt = (campaign: Campaign, fields: Record<string, unknown>, at = NOON) =>
  inSegment(customer(fields), ctxOf(campaign, at));
const refused = (campaign: unknown, cfg = config): string[] => {
  try {
    parseCampaign(campaign, cfg);
  } catch (err) {
    if (err instanceof CampaignValidationError) return err.problems;
    throw err;
  }
  return [];
};

describe("segment.nearNextTier", () => {
  const near = growth({ tiers: ["potential"], nearNextTier: { withinPercent: 10 } });
  it("10% below quality (50,000): includes 45,000.00 and excludes 44,999.99", () => {
    expect(inIt(near, { aum: 45_000 })).toBe(true);
    expect(inIt(near, { aum: 44_999.99 })).toBe(false);
  });
  it("includes 49,999.99 (still potential) and nothing of the next tier (50,000.00 is quality)", () => {
    expect(inIt(near, { aum: 49_999.99 })).toBe(true);
    expect(inIt(near, { aum: 50_000 })).toBe(false);
  });
  it("measures against the customer's own next tier: 270,000.00 in, 269,999.99 out below key (300,000)", () => {
    const c = growth({ tiers: ["potential", "quality"], nearNextTier: { withinPercent: 10 } });
    expect(inIt(c, { aum: 270_000 })).toBe(true);
    expect(inIt(c, { aum: 269_999.99 })).toBe(false);
  });
  it("leaves out the top tier (no next tier), and refuses a segment of the top tier only", () => {
    const c = growth(
      { scheme: "corporate", tiers: ["class1"], nearNextTier: { withinPercent: 10 } },
      {
        playbook: "dormant-reactivation",
      },
    );
    expect(refused(c)).toContain(
      'segment.nearNextTier: "class1" is the top tier of corporate: it has no next tier',
    );
  });
});

describe("segment.tags and segment.products: all, any, none", () => {
  it("all: every tag; any: at least one; none: not one", () => {
    const all = growth({ tags: { all: ["payroll", "mortgage"] } });
    expect(inIt(all, { tags: ["payroll", "mortgage", "x"] })).toBe(true);
    expect(inIt(all, { tags: ["payroll"] })).toBe(false);
    const any = growth({ tags: { any: ["elderly", "genz"] } });
    expect(inIt(any, { tags: ["genz"] })).toBe(true);
    expect(inIt(any, { tags: ["payroll"] })).toBe(false);
    expect(inIt(any, {})).toBe(false);
    const none = growth({ tags: { none: ["pos-merchant"] } });
    expect(inIt(none, {})).toBe(true);
    expect(inIt(none, { tags: ["pos-merchant"] })).toBe(false);
  });
  it("products held and not held: holds a fund, holds no credit card", () => {
    const c = growth({ products: { any: ["FUND"], none: ["CREDIT_CARD"] } });
    expect(inIt(c, { products: ["FUND", "DEPOSIT"] })).toBe(true);
    expect(inIt(c, { products: ["FUND", "CREDIT_CARD"] })).toBe(false);
    expect(inIt(c, { products: ["DEPOSIT"] })).toBe(false);
  });
  it("reads CSV cells split on |", () => {
    const c = toCustomer(
      CustomerInput.parse({ customerId: "X", tags: "payroll| mortgage", products: "FUND" }),
      config,
    );
    expect(c.tags).toEqual(["payroll", "mortgage"]);
    expect(c.products).toEqual(["FUND"]);
  });
});

describe("segment.age (whole years at the decision's day in Shanghai)", () => {
  const elderly = growth({ age: { min: 60, max: 70 } });
  it("is 60 on the 60th birthday, 59 the day before; 70 until the 71st birthday", () => {
    expect(inIt(elderly, { birthday: "1967-03-15" })).toBe(true);
    expect(inIt(elderly, { birthday: "1967-03-16" })).toBe(false);
    expect(inIt(elderly, { birthday: "1956-03-16" })).toBe(true);
    expect(inIt(elderly, { birthday: "1956-03-15" })).toBe(false);
    expect(inIt(elderly, {})).toBe(false);
  });
  it("uses the bank's day: 23:30 Shanghai on 14 March is still the 14th", () => {
    expect(inIt(elderly, { birthday: "1967-03-15" }, new Date("2027-03-14T15:30:00Z"))).toBe(false);
    expect(inIt(elderly, { birthday: "1967-03-15" }, new Date("2027-03-14T16:00:00Z"))).toBe(true);
    expect(ageOn("2000-02-29", "2027-02-28")).toBe(26);
  });
});

describe("segment.aumChange over N months", () => {
  const fell = growth({ aumChange: { months: 3, maxPercent: -10 } }, { playbook: "asset-retention" });
  const history = (dec: number) => ({ aumHistory: { "2026-12": dec } });
  it("fell 10%: 90,000.00 from 100,000.00 is in, 90,000.01 is out (against December, 3 months before March)", () => {
    expect(inIt(fell, { aum: 90_000, ...history(100_000) })).toBe(true);
    expect(inIt(fell, { aum: 90_000.01, ...history(100_000) })).toBe(false);
  });
  it("without December's snapshot the change is unknown: not in", () => {
    expect(inIt(fell, { aum: 50_000, aumHistory: { "2027-01": 100_000 } })).toBe(false);
  });
  it("grew at least 20%: 60,000.00 from 50,000.00 is in, 59,999.99 out", () => {
    const grew = growth({ aumChange: { months: 3, minPercent: 20 } });
    expect(inIt(grew, { aum: 60_000, ...history(50_000) })).toBe(true);
    expect(inIt(grew, { aum: 59_999.99, ...history(50_000) })).toBe(false);
  });
  it("asset-retention needs an aumChange", () => {
    expect(refused(growth({}, { playbook: "asset-retention" }))[0]).toMatch(/^segment\.aumChange: required/);
  });
  it("each import keeps the history and adds its month; the last import of a month is its snapshot; 24 months kept", () => {
    let h = mergeHistory(undefined, { "2025-01": 1 }, "2027-01", 100);
    h = mergeHistory(h, undefined, "2027-02", 200);
    h = mergeHistory(h, undefined, "2027-02", 250);
    expect(h).toEqual({ "2025-01": 1, "2027-01": 100, "2027-02": 250 });
    const long = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `20${20 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`,
        i,
      ]),
    );
    const kept = mergeHistory(long, undefined, "2027-03", 9);
    expect(Object.keys(kept)).toHaveLength(24);
    expect(Object.keys(kept).at(-1)).toBe("2027-03");
  });
  it("refuses a bad history by field: a month that is not YYYY-MM, a negative amount", () => {
    const bad = CustomerInput.safeParse({ customerId: "X", aumHistory: "2027-13:5|2027-01:-3" });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => i.message);
    expect(messages).toContain('"2027-13" is not a month YYYY-MM');
    expect(messages).toContain("each month's AUM must be ≥ 0");
  });
});

describe("segment.riskMatch: a product's risk level against the customer's tolerance (000:601)", () => {
  const r3 = growth({ riskMatch: { productRisk: "R3" } });
  it("R3 suits C3, C4, C5; not C2, nor an unassessed customer", () => {
    expect(inIt(r3, { riskTolerance: "C3" })).toBe(true);
    expect(inIt(r3, { riskTolerance: "c5" })).toBe(true);
    expect(inIt(r3, { riskTolerance: "C2" })).toBe(false);
    expect(inIt(r3, {})).toBe(false);
  });
});

describe("segment.cdMaturingWithinDays (large-CD maturity reminders, 003:23)", () => {
  const cd = growth({ cdMaturingWithinDays: 30 }, { playbook: "cd-maturity" });
  it("a large CD (≥ 200,000) maturing today to 30 days ahead is in; 31 days, past, or smaller is out", () => {
    expect(inIt(cd, { cdMaturesAt: "2027-03-15", cdAmount: 200_000 })).toBe(true);
    expect(inIt(cd, { cdMaturesAt: "2027-04-14", cdAmount: 500_000 })).toBe(true);
    expect(inIt(cd, { cdMaturesAt: "2027-04-15", cdAmount: 500_000 })).toBe(false);
    expect(inIt(cd, { cdMaturesAt: "2027-03-14", cdAmount: 500_000 })).toBe(false);
    expect(inIt(cd, { cdMaturesAt: "2027-03-20", cdAmount: 199_999.99 })).toBe(false);
  });
  it("is required by the cd-maturity playbook", () => {
    expect(refused(growth({}, { playbook: "cd-maturity" }))).toContain(
      "segment.cdMaturingWithinDays: required for the cd-maturity playbook",
    );
  });
});

describe("configurable lifecycle", () => {
  it("lists every out-of-order threshold at once", () => {
    let problems: string[] = [];
    try {
      parseConfig({
        dormantDays: 180,
        lostDays: 180,
        lifecycle: { introDays: 400, growthDays: 365, declineDays: 200 },
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      "lifecycle.introDays: 400 must be less than lifecycle.growthDays (365), or no account is ever in growth",
      "lifecycle.declineDays: 200 must be at most dormantDays (180): decline comes before dormancy",
      "lostDays: 180 must be more than dormantDays (180): a lost customer is dormant first",
    ]);
  });
  it("reads lostDays: the lost stage and win-back variants use it", () => {
    const cfg = parseConfig({ lostDays: 400 });
    const c = growth({ tiers: ["potential"], lifecycle: ["lost"] }, { playbook: "dormant-reactivation" });
    const ctx = ctxOf(c, NOON, cfg);
    const at = (days: number) => new Date(NOON.getTime() - days * 86_400_000).toISOString();
    expect(inSegment(customer({ lastTransactionAt: at(400) }), ctx)).toBe(true);
    expect(inSegment(customer({ lastTransactionAt: at(399) }), ctx)).toBe(false);
    const winBack = parseCampaign(
      {
        ...growth({ tiers: ["potential"], dormantDays: 180 }, { playbook: "dormant-reactivation" }),
        variants: [
          { id: "W", tiers: ["potential"], channel: "sms", template: "回归礼", winBack: true },
          { id: "A", tiers: ["potential"], channel: "sms", template: "欢迎回来" },
        ],
      },
      cfg,
    );
    expect(winBack.variants[0]!.minInactiveDays).toBe(400);
    const wctx = prepare(winBack, cfg, NOON, SECRET);
    expect(decide(customer({ lastTransactionAt: at(400) }), undefined, wctx).variant).toBe("W");
    expect(decide(customer({ lastTransactionAt: at(399) }), undefined, wctx).variant).toBe("A");
  });
  it("declineDays and introDays move the stages", () => {
    const cfg = parseConfig({ lifecycle: { introDays: 30, growthDays: 200, declineDays: 60 } });
    const c = growth({ tiers: ["potential"], lifecycle: ["decline"] });
    const ctx = ctxOf(c, NOON, cfg);
    const at = (days: number) => new Date(NOON.getTime() - days * 86_400_000).toISOString();
    expect(inSegment(customer({ lastTransactionAt: at(60) }), ctx)).toBe(true);
    expect(inSegment(customer({ lastTransactionAt: at(59) }), ctx)).toBe(false);
  });
});

describe("corporate class 1 by credit line (000:547)", () => {
  it("class1 at a target credit line of 2亿 with small deposits; class3 at 1.9999999999亿", () => {
    const corp = (creditLine: number) =>
      toCustomer(
        CustomerInput.parse({ customerId: "K", kind: "corporate", aum: 1_000_000, creditLine }),
        config,
      ).tier;
    expect(corp(200_000_000)).toBe("class1");
    expect(corp(199_999_999.99)).toBe("class3");
  });
});

describe("conversion on a later import", () => {
  const imported = (fields: Record<string, unknown>) => customer(fields);
  const tierUp = parseCampaign(growth({ tiers: ["potential"], nearNextTier: { withinPercent: 10 } }), config);
  it("tier-upgrade converts at a higher tier than at launch, not at the same one", () => {
    expect(importConverts(tierUp, { tier: "potential" }, imported({ aum: 50_000 }), config)).toBe(true);
    expect(importConverts(tierUp, { tier: "potential" }, imported({ aum: 49_999.99 }), config)).toBe(false);
  });
  it("a tier goal converts at that tier or above", () => {
    const c = { ...tierUp, goal: { kind: "tier" as const, tier: "key" } };
    expect(importConverts(c, { tier: "potential" }, imported({ aum: 299_999.99 }), config)).toBe(false);
    expect(importConverts(c, { tier: "potential" }, imported({ aum: 300_000 }), config)).toBe(true);
  });
  it("an AUM goal and asset-retention convert at the row's goalAum exactly", () => {
    const c = { ...tierUp, goal: { kind: "aum-growth" as const, percent: 10 } };
    expect(importConverts(c, { tier: "potential", goalAum: 22_000 }, imported({ aum: 22_000 }), config)).toBe(
      true,
    );
    expect(
      importConverts(c, { tier: "potential", goalAum: 22_000 }, imported({ aum: 21_999.99 }), config),
    ).toBe(false);
    const decision = decide(customer({ aum: 20_000 }), undefined, prepare(c, config, NOON, SECRET));
    expect(decision.goalAum).toBe(22_000);
  });
  it("card-upgrade converts when the card held moves up (silver → gold by application, 001:361)", () => {
    const card = parseCampaign(
      {
        ...growth({ scheme: "card", tiers: ["silver"] }, { playbook: "card-upgrade" }),
        variants: [{ id: "A", tiers: ["silver"], channel: "sms", template: "可申请{{eligibleCard}}卡" }],
      },
      config,
    );
    expect(
      importConverts(card, { tier: "silver" }, imported({ aum: 120_000, cardTier: "gold" }), config),
    ).toBe(true);
    expect(
      importConverts(card, { tier: "silver" }, imported({ aum: 120_000, cardTier: "silver" }), config),
    ).toBe(false);
  });
  it("a deposit goal never converts on an import", () => {
    const c = { ...tierUp, goal: { kind: "deposit" as const, atLeast: 10_000 } };
    expect(importConverts(c, { tier: "potential" }, imported({ aum: 500_000 }), config)).toBe(false);
  });
});
