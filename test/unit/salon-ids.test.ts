import { describe, expect, it } from "vitest";
import { confirmationCampaignId, derivedCampaignId } from "#functions/events/salon.ts";

const SUFFIXES = ["reminder", "rsvp", "rsvp-seat", "rsvp-again"];

describe("the campaign ids a salon invitation derives", () => {
  it("are the invitation's id and the suffix while that fits in 64 characters", () => {
    expect(confirmationCampaignId("salon-2027-03")).toBe("salon-2027-03-rsvp");
    expect(derivedCampaignId("x".repeat(53), "rsvp-again")).toBe(`${"x".repeat(53)}-rsvp-again`);
  });

  it("stay distinct and within 64 characters for an invitation id of 58 characters or more", () => {
    for (const length of [53, 58, 60, 64]) {
      const ids = SUFFIXES.map((s) => derivedCampaignId("s".repeat(length), s));
      expect(new Set(ids).size, `length ${length}`).toBe(SUFFIXES.length);
      for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it("differ between two long invitations that start alike", () => {
    const a = `${"salon-autumn-vip-".repeat(4)}A`;
    const b = `${"salon-autumn-vip-".repeat(4)}B`;
    for (const s of SUFFIXES) expect(derivedCampaignId(a, s)).not.toBe(derivedCampaignId(b, s));
  });
});
