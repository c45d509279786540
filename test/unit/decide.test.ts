import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  allocate,
  type ContactState,
  decide,
  inSegment,
  isHoldout,
  memoryAllocator,
  prepare,
  referralCode,
} from "#functions/campaign/decide.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { smsSegments } from "#functions/campaign/templates.ts";
import { CampaignValidationError } from "#platform/errors.ts";
import { config, customer, dormantCampaign } from "../fixtures/campaigns.ts";

const DAY_AT_NOON_SHANGHAI = new Date("2026-12-01T04:00:00Z");
const ctxFor = (overrides = {}, now = DAY_AT_NOON_SHANGHAI) =>
  prepare(parseCampaign(dormantCampaign(overrides), config), config, now, "secret-for-tests-0123456789");

describe("eligibility reasons", () => {
  it("sends an eligible customer now with the refusal text appended", () => {
    const d = decide(customer(), undefined, ctxFor());
    expect(d).toMatchObject({ decision: "eligible", channel: "sms", variant: "A", tier: "potential" });
    expect(d.message?.text).toBe("【Tiercast银行】王伟您好，欢迎回来 拒收请回复R");
  });

  it.each([
    [{ riskFlag: true }, "risk_flagged"],
    [{ consentSms: false }, "no_consent"],
    [{ phone: "123" }, "uncontactable"],
    [{ phone: undefined }, "uncontactable"],
  ])("excludes %o as %s", (overrides, reason) => {
    expect(decide(customer(overrides), undefined, ctxFor())).toMatchObject({ decision: "excluded", reason });
  });

  it("honours an opt-out on that channel only", () => {
    const state: ContactState = { optOut: { sms: "2026-11-01T00:00:00Z" } };
    expect(decide(customer(), state, ctxFor()).reason).toBe("opted_out");
    const quality = customer({ aum: 60_000 });
    expect(decide(quality, state, ctxFor())).toMatchObject({ decision: "eligible", channel: "email" });
  });

  it("falls back to SMS when email is closed, with the fallback template", () => {
    const d = decide(customer({ aum: 60_000, consentEmail: false }), undefined, ctxFor());
    expect(d).toMatchObject({ decision: "eligible", channel: "sms", variant: "B" });
    expect(d.message?.text).toContain("王伟您好");
  });

  it("reports the primary channel's reason when every channel is closed", () => {
    const d = decide(customer({ aum: 60_000, consentEmail: false, consentSms: false }), undefined, ctxFor());
    expect(d).toMatchObject({ decision: "excluded", reason: "no_consent", channel: "email" });
  });

  it("never bulk-messages private banking customers", () => {
    const campaign = dormantCampaign({
      segment: { scheme: "retail", tiers: ["private"] },
      variants: [{ id: "P", tiers: ["private"], channel: "sms", template: "hi" }],
    });
    const ctx = prepare(parseCampaign(campaign, config), config, DAY_AT_NOON_SHANGHAI, "s".repeat(20));
    expect(decide(customer({ aum: 2_000_000 }), undefined, ctx).reason).toBe("private_banking");
  });

  it("caps at one SMS per customer per day and four per 30 days across campaigns", () => {
    const today: ContactState = { recent: [{ at: "2026-12-01T01:00:00Z", ch: "sms", c: "other" }] };
    expect(decide(customer(), today, ctxFor()).reason).toBe("frequency_capped");
    const fourThisMonth: ContactState = {
      recent: ["2026-11-05", "2026-11-10", "2026-11-15", "2026-11-20"].map((d) => ({
        at: `${d}T02:00:00Z`,
        ch: "email" as const,
        c: "o",
      })),
    };
    expect(decide(customer(), fourThisMonth, ctxFor()).reason).toBe("frequency_capped");
    const old: ContactState = { recent: [{ at: "2026-10-01T02:00:00Z", ch: "sms", c: "o" }] };
    expect(decide(customer(), old, ctxFor()).decision).toBe("eligible");
  });

  it("defers a send outside quiet hours to 08:00 Asia/Shanghai, never drops it", () => {
    const at2330 = new Date("2026-12-01T15:30:00Z"); // 23:30 in Shanghai
    const d = decide(customer(), undefined, ctxFor({}, at2330));
    expect(d).toMatchObject({ decision: "deferred", dueAt: "2026-12-02T00:00:00.000Z" });
    const at0700 = new Date("2026-12-01T23:00:00Z"); // 07:00 next day in Shanghai
    expect(decide(customer(), undefined, ctxFor({}, at0700)).dueAt).toBe("2026-12-02T00:00:00.000Z");
  });

  it("draws the holdout deterministically and close to the configured share", () => {
    const ctx = ctxFor({ holdoutPercent: 10 });
    let holdouts = 0;
    for (let i = 0; i < 20_000; i++) {
      const d = decide(customer({ customerId: `C${i}` }), undefined, ctx);
      if (d.decision === "holdout") holdouts++;
    }
    expect(holdouts / 20_000).toBeGreaterThan(0.09);
    expect(holdouts / 20_000).toBeLessThan(0.11);
  });

  it("holdout draw depends only on campaign and customer (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 50 }),
        (cid, cust, pct) => {
          expect(isHoldout(cid, cust, pct)).toBe(isHoldout(cid, cust, pct));
          if (pct === 0) expect(isHoldout(cid, cust, pct)).toBe(false);
          if (isHoldout(cid, cust, pct)) expect(isHoldout(cid, cust, Math.min(50, pct + 5))).toBe(true);
        },
      ),
    );
  });

  it("keeps only customers matching the segment: tier, dormancy", () => {
    const ctx = ctxFor();
    expect(inSegment(customer(), ctx)).toBe(true);
    expect(inSegment(customer({ lastTransactionAt: "2026-11-20T00:00:00Z" }), ctx)).toBe(false);
    expect(inSegment(customer({ aum: 500 }), ctx)).toBe(false);
  });

  it("applies the care triggers: opened in the last 24 h, birthday today in Asia/Shanghai", () => {
    const thanks = ctxFor({
      segment: { scheme: "retail", tiers: ["potential", "quality"], openedWithinHours: 24 },
    });
    expect(inSegment(customer({ openedAt: "2026-11-30T06:00:00Z" }), thanks)).toBe(true);
    expect(inSegment(customer({ openedAt: "2026-11-29T03:59:00Z" }), thanks)).toBe(false);
    expect(inSegment(customer({ openedAt: "2026-12-02T00:00:00Z" }), thanks)).toBe(false);
    // A thank-you after a deal (003:19): the last transaction in the window, not after now.
    const dealCtx = ctxFor({
      segment: { scheme: "retail", tiers: ["potential", "quality"], transactedWithinHours: 24 },
    });
    // Without the dormancy the reactivation playbook adds.
    const deal = {
      ...dealCtx,
      campaign: { ...dealCtx.campaign, segment: { ...dealCtx.campaign.segment, dormantDays: undefined } },
    };
    expect(inSegment(customer({ lastTransactionAt: "2026-11-30T06:00:00Z" }), deal)).toBe(true);
    expect(inSegment(customer({ lastTransactionAt: "2026-11-29T03:59:00Z" }), deal)).toBe(false);
    expect(inSegment(customer({ lastTransactionAt: "2026-12-02T00:00:00Z" }), deal)).toBe(false);
    expect(inSegment(customer({ lastTransactionAt: undefined }), deal)).toBe(false);
    // 2026-12-01 00:30 in Shanghai is still 30 November in UTC: the bank's day decides.
    const birthday = ctxFor(
      { segment: { scheme: "retail", tiers: ["potential", "quality"], birthdayToday: true } },
      new Date("2026-11-30T16:30:00Z"),
    );
    expect(inSegment(customer({ birthday: "1980-12-01" }), birthday)).toBe(true);
    expect(inSegment(customer({ birthday: "1980-11-30" }), birthday)).toBe(false);
    expect(inSegment(customer(), birthday)).toBe(false);
  });
});

describe("allocation across pages", () => {
  it("marks the second customer with the same phone as duplicate_contact", async () => {
    const ctx = ctxFor();
    const decisions = [customer({ customerId: "A1" }), customer({ customerId: "A2" })].map((c) =>
      decide(c, undefined, ctx),
    );
    await allocate(decisions, memoryAllocator(), ctx);
    expect(decisions.map((d) => [d.decision, d.reason])).toEqual([
      ["eligible", undefined],
      ["excluded", "duplicate_contact"],
    ]);
  });

  it("spreads RM tasks over days within each RM's daily capacity", async () => {
    const campaign = dormantCampaign({
      playbook: "key-maintenance",
      segment: { scheme: "retail", tiers: ["key"] },
      variants: [{ id: "M", tiers: ["key"], channel: "rm-task", template: "call {{name|客户}}" }],
    });
    const small = { ...config, rm: { ...config.rm, dailyTasksPerRm: 2 } };
    const ctx = prepare(parseCampaign(campaign, small), small, DAY_AT_NOON_SHANGHAI, "s".repeat(20));
    const decisions = [1, 2, 3, 4, 5].map((i) =>
      decide(customer({ customerId: `K${i}`, aum: 400_000 }), undefined, ctx),
    );
    await allocate(decisions, memoryAllocator(), ctx);
    expect(decisions.map((d) => d.decision)).toEqual([
      "eligible",
      "eligible",
      "deferred",
      "deferred",
      "deferred",
    ]);
    expect(decisions[4]!.dueAt).toBe(new Date(DAY_AT_NOON_SHANGHAI.getTime() + 2 * 86_400_000).toISOString());
  });
});

describe("templates and rendering", () => {
  it("escapes HTML in email values and adds an unsubscribe link and header", () => {
    const d = decide(customer({ aum: 60_000, name: '<script>alert("x")</script>' }), undefined, ctxFor());
    expect(d.message?.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(d.message?.html).not.toContain("<script>");
    expect(d.message?.html).toContain("退订");
    expect(d.message?.listUnsubscribe).toMatch(/^<https:\/\/tiercast\.local\/u\?c=dormant-test&r=C1&t=/);
  });

  it("strips control characters from SMS values", () => {
    const d = decide(customer({ name: "王\u0007伟\u202e" }), undefined, ctxFor());
    expect(d.message?.text).toContain("王伟您好");
  });

  it("excludes a recipient missing a variable without a default", () => {
    const d = decide(customer({ aum: 60_000, name: undefined }), undefined, ctxFor());
    expect(d).toMatchObject({ decision: "excluded", reason: "missing_variable:name" });
  });

  it.each([
    ["a".repeat(160), "GSM-7", 1],
    ["a".repeat(161), "GSM-7", 2],
    ["中".repeat(70), "UCS-2", 1],
    ["中".repeat(71), "UCS-2", 2],
    ["中".repeat(134), "UCS-2", 2],
    ["中".repeat(135), "UCS-2", 3],
  ])("segments %#: %s encoding, %i parts", (text, encoding, parts) => {
    expect(smsSegments(text)).toMatchObject({ encoding, parts });
  });

  it("gives one stable, unguessable referral code per referrer per drive", () => {
    const a = referralCode("k".repeat(32), "drive1", "C1");
    expect(a).toMatch(/^[A-Z2-9]{8}$/);
    expect(referralCode("k".repeat(32), "drive1", "C1")).toBe(a);
    expect(referralCode("k".repeat(32), "drive2", "C1")).not.toBe(a);
    expect(referralCode("other-secret-xxxxxxxxxxxxxxxxxxx", "drive1", "C1")).not.toBe(a);
  });
});

describe("campaign validation", () => {
  it("lists every problem, field by field", () => {
    try {
      parseCampaign(
        {
          campaignId: "bad id",
          playbook: "salon-invite",
          segment: { scheme: "retail", tiers: ["key", "gold"] },
          variants: [{ id: "A", tiers: ["key"], channel: "email", template: "{{nope}}" }],
        },
        config,
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CampaignValidationError);
      const problems = (err as CampaignValidationError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^campaignId:/),
          expect.stringMatching(/^segment\.tiers\.1: unknown tier "gold"/),
          expect.stringMatching(/^variants\.0\.subject: required/),
          expect.stringMatching(/^variants\.0\.template: unknown variable \{\{nope\}\}/),
          expect.stringMatching(/^event: required/),
        ]),
      );
    }
  });

  it("applies the config's defaults to what is left out", () => {
    const c = parseCampaign(
      {
        ...dormantCampaign(),
        holdoutPercent: undefined,
        segment: { scheme: "retail", tiers: ["potential", "quality"] },
      },
      config,
    );
    expect(c.holdoutPercent).toBe(5);
    expect(c.attributionDays).toBe(30);
    expect(c.segment.dormantDays).toBe(180);
  });

  it("ignores unknown extra fields", () => {
    expect(() => parseCampaign({ ...dormantCampaign(), futureField: 1 }, config)).not.toThrow();
  });
});
