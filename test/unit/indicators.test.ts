import { describe, expect, it } from "vitest";
import {
  type BookSize,
  cascade,
  controlledRounding,
  IndicatorValidationError,
  indicatorProgress,
  isoWeek,
  quarterCalendar,
  resplitBranch,
  splitExact,
} from "#functions/funnel/indicators.ts";

const books: BookSize[] = [
  { branchId: "BR001", rmId: "RM01", customers: 500 },
  { branchId: "BR001", rmId: "RM02", customers: 700 },
  { branchId: "BR001", customers: 13 },
  { branchId: "BR002", rmId: "RM03", customers: 601 },
  { branchId: "BR003", customers: 40 },
];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("splitExact", () => {
  it("splits 1000 over 3 months as 334 + 333 + 333", () => {
    expect(splitExact(1000, [1, 1, 1])).toEqual([334, 333, 333]);
  });

  it("gives the remainder to the largest fractions, and always adds up", () => {
    expect(splitExact(10, [1, 1, 1, 1, 1, 1, 1])).toEqual([2, 2, 2, 1, 1, 1, 1]);
    expect(splitExact(7, [5, 3, 0])).toEqual([4, 3, 0]);
    for (const total of [1, 2, 999, 1001, 123457]) expect(sum(splitExact(total, [3, 7, 11, 13]))).toBe(total);
  });
});

describe("controlledRounding", () => {
  it("keeps every row and column sum, and no cell is negative", () => {
    const rows = [1, 1, 1, 997];
    const cols = [334, 333, 333];
    const cells = controlledRounding(rows, cols);
    expect(cells.map(sum)).toEqual(rows);
    expect(cols.map((_, j) => sum(cells.map((row) => row[j]!)))).toEqual(cols);
    expect(cells.flat().every((n) => n >= 0)).toBe(true);
  });
});

describe("the calendar of a quarter", () => {
  it("cuts March 2027 into the days of its ISO weeks (W09 … W13)", () => {
    const march = quarterCalendar("2027Q1")[2]!;
    expect(march.month).toBe("2027-03");
    expect(march.weeks).toEqual([
      { week: "2027-W09", days: 7 },
      { week: "2027-W10", days: 7 },
      { week: "2027-W11", days: 7 },
      { week: "2027-W12", days: 7 },
      { week: "2027-W13", days: 3 },
    ]);
    expect(isoWeek("2027-01-01")).toBe("2026-W53");
  });
});

describe("cascade quarter → month → week, bank → branch → RM", () => {
  const nodes = cascade({ period: "2027Q1", stage: "converted", value: 1000 }, books);
  const bank = nodes.find((n) => n.level === "bank")!;

  it("gives the bank 1000 in the quarter and 334 / 333 / 333 by month", () => {
    expect(bank.quarter).toBe(1000);
    expect(bank.months).toEqual({ "2027-01": 334, "2027-02": 333, "2027-03": 333 });
  });

  it("adds up exactly at every level: months to the quarter, weeks to the month, children to the parent", () => {
    for (const n of nodes) {
      expect(sum(Object.values(n.months))).toBe(n.quarter);
      for (const [m, weeks] of Object.entries(n.weeks)) expect(sum(Object.values(weeks))).toBe(n.months[m]);
    }
    const branches = nodes.filter((n) => n.level === "branch");
    expect(branches.map((b) => b.branchId)).toEqual(["BR001", "BR002", "BR003"]);
    expect(sum(branches.map((b) => b.quarter))).toBe(1000);
    for (const m of Object.keys(bank.months)) {
      expect(sum(branches.map((b) => b.months[m]!))).toBe(bank.months[m]);
      for (const w of Object.keys(bank.weeks[m]!))
        expect(sum(branches.map((b) => b.weeks[m]![w]!))).toBe(bank.weeks[m]![w]);
    }
    for (const b of branches) {
      const rms = nodes.filter((n) => n.level === "rm" && n.branchId === b.branchId);
      if (rms.length === 0) continue;
      expect(sum(rms.map((r) => r.quarter))).toBe(b.quarter);
      for (const m of Object.keys(b.months)) expect(sum(rms.map((r) => r.months[m]!))).toBe(b.months[m]);
    }
  });

  it("splits branches by the customers they hold and RMs by their books", () => {
    // 1213 / 601 / 40 customers of 1854: 654.26…, 324.16…, 21.57… → 654, 324, 22.
    expect(nodes.filter((n) => n.level === "branch").map((b) => b.quarter)).toEqual([654, 324, 22]);
    // BR001's 654 over books of 500 and 700: 272.5 and 381.5 → the tie goes to the first.
    expect(nodes.filter((n) => n.level === "rm").map((r) => [r.rmId, r.quarter])).toEqual([
      ["RM01", 273],
      ["RM02", 381],
      ["RM03", 324],
    ]);
  });

  it("splits equally when asked", () => {
    const equal = cascade({ period: "2027Q1", stage: "converted", value: 1000, split: "equal" }, books);
    expect(equal.filter((n) => n.level === "branch").map((b) => b.quarter)).toEqual([334, 333, 333]);
  });

  it("lists every problem of a bad indicator at once", () => {
    let error: unknown;
    try {
      cascade({ period: "2027-03", stage: "won" as never, value: 2.5, split: "random" as never }, []);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IndicatorValidationError);
    expect((error as IndicatorValidationError).problems).toEqual([
      'period must be a quarter (2027Q1), got "2027-03"',
      'stage must be one of targeted, eligible, sent, delivered, engaged, responded, converted, got "won"',
      'value must be a positive integer, got "2.5"',
      'split must be customers or equal, got "random"',
      "there are no customers with a branch to split the indicator over",
    ]);
  });

  it("counts progress into the RM, its branch and the bank, in the quarter, the month and the week", () => {
    const plan = {
      period: "2027Q1",
      stage: "converted" as const,
      value: 1000,
      split: "customers" as const,
      setAt: "2027-01-01T00:00:00Z",
      setBy: "op",
      nodes,
    };
    const progress = indicatorProgress(plan, [
      { branchId: "BR001", rmId: "RM01", day: "2027-03-30", n: 5 },
      { branchId: "BR001", rmId: "RM99", day: "2027-03-02", n: 2 },
      { branchId: "BR002", rmId: "RM03", day: "2027-04-01", n: 100 },
    ]);
    const at = (level: string, period: string, rmId?: string, branchId?: string) =>
      progress.find(
        (p) => p.level === level && p.period === period && p.rmId === rmId && p.branchId === branchId,
      )!;
    expect(at("bank", "2027Q1").actual).toBe(7);
    expect(at("branch", "2027-03", undefined, "BR001").actual).toBe(7);
    expect(at("rm", "2027-03/2027-W13", "RM01", "BR001")).toMatchObject({
      actual: 5,
      from: "2027-03-29",
      to: "2027-03-31",
    });
    expect(at("rm", "2027Q1", "RM03", "BR002").actual).toBe(0);
    const rm01 = at("rm", "2027Q1", "RM01", "BR001");
    expect(rm01).toMatchObject({ target: 273, actual: 5, progress: 1.8 });
  });
});

describe("resplitBranch (a branch manager's split of their branch's share)", () => {
  const plan = (value: number) => ({
    period: "2027Q1",
    stage: "converted" as const,
    value,
    split: "customers" as const,
    setAt: "2027-01-04T00:00:00.000Z",
    setBy: "ada",
    nodes: cascade({ period: "2027Q1", stage: "converted", value }, books),
  });
  const known = (id: string) => ["RM01", "RM02", "RM09"].includes(id);

  it("keeps the branch's quarter, months and weeks, and adds up both ways, with a new RM", () => {
    const p = plan(1000);
    const branch = p.nodes.find((n) => n.level === "branch" && n.branchId === "BR001")!;
    const q = branch.quarter;
    const rms = resplitBranch(
      p,
      "BR001",
      [
        { rmId: "RM02", quarter: q - 101 },
        { rmId: "RM09", quarter: 101 },
        { rmId: "RM01", quarter: 0 },
      ],
      known,
    );
    expect(rms.map((n) => [n.rmId, n.quarter])).toEqual([
      ["RM01", 0],
      ["RM02", q - 101],
      ["RM09", 101],
    ]);
    const calendar = quarterCalendar("2027Q1");
    for (const n of rms) {
      expect(sum(Object.values(n.months))).toBe(n.quarter);
      for (const c of calendar) expect(sum(Object.values(n.weeks[c.month]!))).toBe(n.months[c.month]);
      expect(Object.values(n.months).every((v) => v >= 0)).toBe(true);
    }
    for (const c of calendar) {
      expect(sum(rms.map((n) => n.months[c.month]!))).toBe(branch.months[c.month]);
      for (const w of c.weeks)
        expect(sum(rms.map((n) => n.weeks[c.month]![w.week]!))).toBe(branch.weeks[c.month]![w.week]);
    }
  });

  it("lists every problem at once: the sum, an unknown RM, a repeat, a bad share", () => {
    const p = plan(1000);
    const q = p.nodes.find((n) => n.level === "branch" && n.branchId === "BR001")!.quarter;
    try {
      resplitBranch(
        p,
        "BR001",
        [
          { rmId: "RM01", quarter: q },
          { rmId: "RM01", quarter: 1 },
          { rmId: "RM77", quarter: 2 },
          { rmId: "RM02", quarter: 1.5 },
        ],
        known,
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IndicatorValidationError);
      const problems = (err as IndicatorValidationError).problems.join("\n");
      expect(problems).toContain("RM01: named twice");
      expect(problems).toContain("RM77: not an RM of branch BR001");
      expect(problems).toContain("RM02: the share must be a whole number");
      expect(problems).toContain(`the branch's quarter is ${q}`);
    }
    expect(() => resplitBranch(p, "BR404", [{ rmId: "RM01", quarter: 1 }], known)).toThrow(
      /branch BR404 has no share/,
    );
  });
});
