import { describe, expect, it } from "vitest";
import {
  CustomerInput,
  isDormant,
  lifecycleStage,
  lifecycleThresholds,
  normalizePhone,
  tierFor,
  toCustomer,
} from "#functions/customers/record.ts";
import { DEFAULT_SCHEMES, parseConfig } from "#platform/config.ts";
import { ConfigError } from "#platform/errors.ts";

const retail = DEFAULT_SCHEMES.retail!;
const corporate = DEFAULT_SCHEMES.corporate!;
const card = DEFAULT_SCHEMES.card!;

describe("retail AUM tiers: lower bound inclusive, upper exclusive", () => {
  it.each([
    [0, "mass"],
    [9_999.99, "mass"],
    [10_000, "potential"],
    [49_999.99, "potential"],
    [50_000, "quality"],
    [299_999.99, "quality"],
    [300_000, "key"],
    [999_999.99, "key"],
    [1_000_000, "private"],
    [50_000_000, "private"],
  ])("aum %d is %s", (aum, tier) => {
    expect(tierFor(retail, aum)).toBe(tier);
  });
});

describe("corporate classes", () => {
  it.each([
    [49_999_999.99, "class3"],
    [50_000_000, "class2"],
    [199_999_999.99, "class2"],
    [200_000_000, "class1"],
  ])("deposits+credit %d is %s", (aum, tier) => {
    expect(tierFor(corporate, aum)).toBe(tier);
  });
});

describe("card tiers by personal or family assets", () => {
  it.each([
    [99_999.99, undefined, "silver"],
    [100_000, undefined, "gold"],
    [10_000, 80_000, "gold"],
    [10_000, 79_999.99, "silver"],
    [300_000, undefined, "platinum"],
    [10_000, 250_000, "platinum"],
    [299_999.99, 249_999.99, "gold"],
  ])("aum %d family %s is %s", (aum, family, tier) => {
    expect(tierFor(card, aum, family)).toBe(tier);
  });
});

describe("config", () => {
  it("accepts a bank's own scheme and uses it for tiers", () => {
    const config = parseConfig({
      tierSchemes: {
        retail: {
          appliesTo: "retail",
          tiers: [
            { name: "basic", min: 0 },
            { name: "gold", min: 20_000 },
          ],
        },
        corporate: DEFAULT_SCHEMES.corporate,
      },
    });
    const customer = toCustomer(CustomerInput.parse({ customerId: "c1", aum: 20_000 }), config);
    expect(customer.tier).toBe("gold");
  });

  it("refuses an invalid config listing every problem", () => {
    const attempt = () =>
      parseConfig({
        shards: 0,
        quietHours: { start: "25:00", end: "22:00" },
        tierSchemes: {
          retail: {
            appliesTo: "retail",
            tiers: [
              { name: "a", min: 5 },
              { name: "a", min: 1 },
            ],
          },
        },
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toMatch(/shards/);
      expect(problems).toMatch(/quietHours\.start/);
      expect(problems).toMatch(/duplicate tier/);
      expect(problems).toMatch(/lowest tier must start at 0/);
    }
  });
});

describe("contact data", () => {
  it.each([
    ["13800138000", "+8613800138000"],
    ["+8613800138000", "+8613800138000"],
    ["138-0013-8000", "+8613800138000"],
    ["12800138000", undefined],
    ["0755123456", undefined],
    ["", undefined],
  ])("phone %s normalizes to %s", (raw, expected) => {
    expect(normalizePhone(raw)).toBe(expected);
  });

  it("keeps a customer with a bad phone and email, marked invalid", () => {
    const c = toCustomer(
      CustomerInput.parse({ customerId: "c1", phone: "123", email: "nope" }),
      parseConfig({}),
    );
    expect(c.phone).toBeUndefined();
    expect(c.phoneInvalid).toBe(true);
    expect(c.emailInvalid).toBe(true);
  });
});

describe("dormancy and lifecycle at an instant", () => {
  const now = new Date("2027-01-01T00:00:00Z");
  it("is dormant at exactly 180 days without a transaction, not at 179", () => {
    expect(isDormant({ lastTransactionAt: "2026-07-05T00:00:00Z" }, now, 180)).toBe(true);
    expect(isDormant({ lastTransactionAt: "2026-07-06T00:00:00Z" }, now, 180)).toBe(false);
  });
  it("counts a never-transacting customer from account opening", () => {
    expect(isDormant({ openedAt: "2026-12-01" }, now, 180)).toBe(false);
    expect(isDormant({ openedAt: "2020-01-01" }, now, 180)).toBe(true);
  });
  it("derives lifecycle stages", () => {
    const T = lifecycleThresholds(parseConfig({}));
    expect(
      lifecycleStage({ openedAt: "2026-12-01", lastTransactionAt: "2026-12-30T00:00:00Z" }, now, T),
    ).toBe("intro");
    expect(
      lifecycleStage({ openedAt: "2026-05-01", lastTransactionAt: "2026-12-30T00:00:00Z" }, now, T),
    ).toBe("growth");
    expect(
      lifecycleStage({ openedAt: "2015-05-01", lastTransactionAt: "2026-12-30T00:00:00Z" }, now, T),
    ).toBe("maturity");
    expect(
      lifecycleStage({ openedAt: "2015-05-01", lastTransactionAt: "2026-08-01T00:00:00Z" }, now, T),
    ).toBe("decline");
  });
});
