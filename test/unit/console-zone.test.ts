import { describe, expect, it } from "vitest";
import { translator } from "../../web/src/i18n.ts";

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
