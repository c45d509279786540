import { describe, expect, it } from "vitest";
import { currentQuarter, translator } from "../../web/src/i18n.ts";

// The console shows dates in the bank's zone, which `GET /api/me` carries (quietHours.timeZone).
describe("the console's dates", () => {
  const at = "2027-07-01T14:00:00Z";
  it("are in Asia/Shanghai until the server says otherwise", () => {
    expect(translator("en").date(at)).toContain("22:00");
  });
  it("are in the bank's zone when it is another", () => {
    expect(translator("en", "America/New_York").date(at)).toContain("10:00");
    expect(translator("zh", "America/New_York").date(at)).toContain("10:00");
  });
});

describe("the indicators page's default quarter", () => {
  it("is today's quarter in the bank's zone, not the browser's UTC", () => {
    const newYearInShanghai = new Date("2026-12-31T17:00:00Z");
    expect(currentQuarter(undefined, newYearInShanghai)).toBe("2027Q1");
    expect(currentQuarter("UTC", newYearInShanghai)).toBe("2026Q4");
    expect(currentQuarter("America/New_York", new Date("2027-04-01T02:00:00Z"))).toBe("2027Q1");
  });
});
