import { describe, expect, it } from "vitest";
import { planBooks } from "#functions/customers/books.ts";
import { parsePerfSk, perfSk } from "#functions/funnel/counters.ts";

const base = () => ({
  books: new Map([
    ["RM1", 3],
    ["RM2", 1],
    ["RM3", 5],
  ]),
  rmBranch: new Map([
    ["RM1", "BR1"],
    ["RM2", "BR1"],
    ["RM3", "BR2"],
  ]),
  cap: 4,
  assignTiers: ["quality", "potential"],
});

describe("book rules A–D (000:640)", () => {
  it("assigns the higher tier first, each to the smallest book of the branch, never past the cap", () => {
    const customers = new Map(
      [
        { customerId: "P1", tier: "potential", branchId: "BR1" },
        { customerId: "P2", tier: "potential", branchId: "BR1" },
        { customerId: "Q1", tier: "quality", branchId: "BR1" },
        { customerId: "Q2", tier: "quality", branchId: "BR1" },
        { customerId: "M1", tier: "mass", branchId: "BR1" },
      ].map((c) => [c.customerId, c]),
    );
    const plan = planBooks({ ...base(), customers, claims: [] });
    // RM2 (1) takes Q1 → 2, Q2 → 3; then RM1 and RM2 tie at 3: RM1 (by id) takes P1 → 4 (full); RM2 P2.
    expect(plan.assignments.map((a) => [a.customerId, a.rmId])).toEqual([
      ["Q1", "RM2"],
      ["Q2", "RM2"],
      ["P1", "RM1"],
      ["P2", "RM2"],
    ]);
    expect(plan.unassigned).toEqual([]);
    // RM3's book of 5 is kept (rule A) and reported over the cap of 4.
    expect(plan.overCap).toEqual([{ rmId: "RM3", customers: 5, over: 1 }]);
  });

  it("leaves a customer unassigned, with the reason, when every book of the branch is full or there is no RM", () => {
    const customers = new Map(
      [
        { customerId: "Q1", tier: "quality", branchId: "BR2" },
        { customerId: "Q2", tier: "quality", branchId: "BR9" },
      ].map((c) => [c.customerId, c]),
    );
    const plan = planBooks({ ...base(), customers, claims: [] });
    expect(plan.assignments).toEqual([]);
    expect(plan.unassigned).toEqual([
      { customerId: "Q1", tier: "quality", branchId: "BR2", reason: "all_rms_at_cap" },
      { customerId: "Q2", tier: "quality", branchId: "BR9", reason: "no_rm_in_branch" },
    ]);
  });

  it("refuses a claim past the cap (rule D) and an unknown RM, by line", () => {
    const customers = new Map([["Q1", { customerId: "Q1", tier: "quality", branchId: "BR1" }]]);
    const plan = planBooks({
      ...base(),
      books: new Map([
        ["RM1", 4],
        ["RM2", 4],
      ]),
      customers,
      claims: [
        { line: 1, customerId: "Q1", rmId: "RM1" },
        { line: 2, customerId: "Q1", rmId: "RM7" },
      ],
    });
    expect(plan.rejected.map((r) => r.error)).toEqual([
      "the book of RM1 is full (cap 4, rule D)",
      "RM7 is not a known RM (staff import or users add --role rm)",
    ]);
    expect(plan.assignments).toEqual([]);
  });
});

describe("performance counter keys", () => {
  it("keep branch and RM ids that hold '#' exactly, and '-' for none", () => {
    const sk = perfSk({ branchId: "BR#1", rmId: undefined, holdout: true }, "2027-03-01", "converted");
    expect(parsePerfSk(sk)).toEqual({
      branchId: "BR#1",
      rmId: undefined,
      day: "2027-03-01",
      stage: "converted",
      holdout: true,
    });
  });
});
