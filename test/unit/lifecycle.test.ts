import { describe, expect, it } from "vitest";
import type { Actor } from "#functions/access/users.ts";
import { type CampaignRecord, planTransition } from "#functions/campaign/record.ts";
import { ConflictError, ForbiddenError } from "#platform/errors.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";

const NOW = new Date("2027-03-01T02:00:00Z");
const maker: Actor = { userId: "mia", role: "marketer" };
const checker: Actor = { userId: "ari", role: "approver" };

function record(overrides: Partial<CampaignRecord> = {}): CampaignRecord {
  return {
    campaignId: "c1",
    campaign: dormantCampaign(),
    status: "draft",
    version: 1,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    createdBy: "mia",
    ...overrides,
  };
}

describe("campaign lifecycle (maker-checker)", () => {
  it("moves draft → submitted → approved, recording who approved which version", () => {
    expect(planTransition(record(), "submit", maker, NOW).status).toBe("submitted");
    const approve = planTransition(
      record({ status: "submitted", version: 3 }),
      "approve",
      checker,
      NOW,
      "ok",
    );
    expect(approve.status).toBe("approved");
    expect(approve.fields.approval).toEqual({ version: 3, by: "ari", at: NOW.toISOString(), note: "ok" });
    expect(approve.from).toEqual(["submitted"]);
  });

  it("forbids the creator or submitter approving, whatever their role", () => {
    const admin: Actor = { userId: "mia", role: "admin" };
    expect(() => planTransition(record({ status: "submitted" }), "approve", admin, NOW)).toThrow(
      ForbiddenError,
    );
    const submittedByOther = record({ status: "submitted", createdBy: "x", submittedBy: "ari" });
    expect(() => planTransition(submittedByOther, "approve", checker, NOW)).toThrow(/cannot approve/);
  });

  it("launches only the approved version", () => {
    const stale = record({ status: "approved", version: 2, approval: { version: 1, by: "ari", at: "" } });
    expect(() => planTransition(stale, "launch", maker, NOW)).toThrow(ConflictError);
    const fresh = record({ status: "approved", version: 2, approval: { version: 2, by: "ari", at: "" } });
    expect(planTransition(fresh, "launch", maker, NOW).status).toBe("launching");
  });

  it("refuses transitions from the wrong state, naming the states that allow them", () => {
    expect(() => planTransition(record({ status: "launched" }), "submit", maker, NOW)).toThrow(
      /it is launched \(submit needs draft or rejected\)/,
    );
    expect(() => planTransition(record({ status: "cancelled" }), "resume", maker, NOW)).toThrow(
      ConflictError,
    );
    expect(planTransition(record({ status: "launched" }), "pause", maker, NOW).status).toBe("paused");
    expect(planTransition(record({ status: "paused" }), "resume", maker, NOW).status).toBe("launched");
    expect(planTransition(record({ status: "paused" }), "cancel", maker, NOW).status).toBe("cancelled");
  });
});
