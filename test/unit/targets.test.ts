import { describe, expect, it } from "vitest";
import { periodRange, validateTarget } from "#functions/funnel/targets.ts";
import { InputError } from "#platform/errors.ts";

describe("target periods", () => {
  it.each([
    ["2027Q1", "2027-01-01", "2027-03-31"],
    ["2024Q1", "2024-01-01", "2024-03-31"],
    ["2027Q4", "2027-10-01", "2027-12-31"],
    ["2027-02", "2027-02-01", "2027-02-28"],
    ["2028-02", "2028-02-01", "2028-02-29"],
    ["2027-W01", "2027-01-04", "2027-01-10"],
    ["2026-W53", "2026-12-28", "2027-01-03"],
    ["2025-W01", "2024-12-30", "2025-01-05"],
  ])("%s runs from %s to %s", (period, from, to) => {
    expect(periodRange(period)).toEqual([from, to]);
  });

  it("refuses malformed periods, stages and values", () => {
    expect(() => periodRange("2027-13")).toThrow(InputError);
    expect(() => periodRange("Q1-2027")).toThrow(InputError);
    const base = { campaignId: "c", period: "2027Q1", tier: "all", stage: "converted" as const, value: 10 };
    expect(() => validateTarget({ ...base, stage: "clicked" as never })).toThrow(/stage/);
    expect(() => validateTarget({ ...base, value: 0 })).toThrow(/positive/);
  });
});
