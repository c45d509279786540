import { describe, expect, it } from "vitest";
import { diffDefinitions } from "#functions/campaign/changes.ts";

describe("diffDefinitions: what an approver sees changed since the last approved version", () => {
  const base = {
    campaignId: "c",
    name: "Q1",
    segment: { scheme: "retail", tiers: ["potential"] },
    variants: [
      { id: "A", channel: "sms", template: "您好" },
      { id: "B", channel: "email", template: "<p>hi</p>" },
    ],
    holdoutPercent: 5,
  };

  it("finds nothing between equal definitions", () => {
    expect(diffDefinitions(base, structuredClone(base))).toEqual([]);
  });

  it("names the changed field by its path, variants by id, lists of values whole", () => {
    const after = structuredClone(base) as Record<string, unknown> & typeof base;
    after.variants = [after.variants[1]!, { ...after.variants[0]!, template: "您好，欢迎" }];
    after.segment.tiers = ["potential", "quality"];
    after.holdoutPercent = 10;
    expect(diffDefinitions(base, after)).toEqual([
      { path: "holdoutPercent", before: 5, after: 10 },
      { path: "segment.tiers", before: ["potential"], after: ["potential", "quality"] },
      { path: "variants[A].template", before: "您好", after: "您好，欢迎" },
    ]);
  });

  it("shows an added or removed field or variant without the missing side", () => {
    const after = { ...structuredClone(base), attributionDays: 30, variants: [base.variants[0]!] };
    delete (after as Partial<typeof base>).name;
    expect(diffDefinitions(base, after)).toEqual([
      { path: "attributionDays", after: 30 },
      { path: "name", before: "Q1" },
      { path: "variants[B]", before: base.variants[1] },
    ]);
  });
});
