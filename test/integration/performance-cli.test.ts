import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const AT = ["--at", "2027-03-01T02:00:00Z"];

describe("tiercast performance, indicators, books assign", () => {
  it("prints performance as JSON and CSV, cascades an indicator exactly, and runs the book rules", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    expect((await cli(["generate", "--customers", "800", "--out", bank, ...AT])).code).toBe(0);
    // Two quality customers of BR001 without an RM.
    writeFileSync(
      join(dir, "new.jsonl"),
      [
        '{"customerId":"N1","aum":100000,"branchId":"BR001"}',
        '{"customerId":"N2","aum":100000,"branchId":"BR001"}',
      ]
        .map((l) => `${l}\n`)
        .join(""),
    );
    expect((await cli(["import", bank, "--json", ...AT], { dataDir })).code).toBe(0);
    expect((await cli(["import", join(dir, "new.jsonl"), "--json", ...AT], { dataDir })).code).toBe(0);
    const launch = await cli(["launch", "examples/dormant-reactivation.json", "--json", ...AT], { dataDir });
    expect(launch.code, launch.stderr).toBe(0);
    const targeted = launch.json() as { sent: number; excluded: number; holdout: number; deferred: number };

    const perf = await cli(["performance", "--by", "rm", "--json", ...AT], { dataDir });
    expect(perf.code, perf.stderr).toBe(0);
    const report = perf.json() as { rows: { rmId: string; targeted: number }[]; total: { targeted: number } };
    expect(report.total.targeted).toBe(
      targeted.sent + targeted.excluded + targeted.holdout + targeted.deferred,
    );
    expect(report.rows.reduce((a, r) => a + r.targeted, 0)).toBe(report.total.targeted);
    const csv = await cli(["performance", "--by", "rm", "--format", "csv", ...AT], { dataDir });
    expect(csv.stdout.trimEnd().split("\n")).toHaveLength(report.rows.length + 1);

    const bad = await cli(["indicators", "set", "--period", "2027-03", "--value", "x", "--json", ...AT], {
      dataDir,
    });
    expect(bad.code).toBe(2);
    expect((bad.json() as { problems: string[] }).problems).toEqual([
      'period must be a quarter (2027Q1), got "2027-03"',
      'value must be a positive integer, got "x"',
    ]);
    const set = await cli(["indicators", "set", "--period", "2027Q1", "--value", "1000", "--json", ...AT], {
      dataDir,
    });
    expect(set.code, set.stderr).toBe(0);
    const show = await cli(
      ["indicators", "show", "--period", "2027Q1", "--level", "rm", "--grain", "quarter", "--json", ...AT],
      {
        dataDir,
      },
    );
    const rows = (show.json() as { rows: { target: number; branchId: string; rmId: string }[] }).rows;
    expect(rows.reduce((a, r) => a + r.target, 0)).toBe(1000);
    // A branch's share re-split by hand: the first two RMs of the branch swap one unit.
    const [a, b] = rows.filter((r) => r.branchId === rows[0]!.branchId) as [
      (typeof rows)[0],
      (typeof rows)[0],
    ];
    const others = rows.filter((r) => r.branchId === a.branchId && r !== a && r !== b);
    const split = [
      ...["--rm", `${a.rmId}=${a.target + 1}`, "--rm", `${b.rmId}=${b.target - 1}`],
      ...others.flatMap((r) => ["--rm", `${r.rmId}=${r.target}`]),
    ];
    const resplit = await cli(
      ["indicators", "split", "--period", "2027Q1", "--branch", a.branchId, ...split, "--json", ...AT],
      { dataDir },
    );
    expect(resplit.code, resplit.stderr).toBe(0);
    const after = (
      (
        await cli(
          ["indicators", "show", "--period", "2027Q1", "--rm", a.rmId, "--grain", "quarter", "--json", ...AT],
          { dataDir },
        )
      ).json() as { rows: { target: number }[] }
    ).rows;
    expect(after[0]!.target).toBe(a.target + 1);
    const unbalanced = await cli(
      [
        "indicators",
        "split",
        "--period",
        "2027Q1",
        "--branch",
        a.branchId,
        "--rm",
        `${a.rmId}=1`,
        "--json",
        ...AT,
      ],
      { dataDir },
    );
    expect(unbalanced.code).toBe(2);
    expect(
      (
        await cli(["indicators", "split", "--period", "2027Q1", "--branch", a.branchId, "--rm", "x"], {
          dataDir,
        })
      ).code,
    ).toBe(2);

    writeFileSync(join(dir, "claims.csv"), "customerId,rmId\nN1,RM0001\nN1,RM0002\n");
    const assign = await cli(["books", "assign", "--claims", join(dir, "claims.csv"), "--json", ...AT], {
      dataDir,
    });
    expect(assign.code, assign.stderr).toBe(0);
    const out = assign.json() as {
      claimed: number;
      assigned: number;
      rejected: { line: number; error: string }[];
    };
    expect(out.claimed).toBe(1);
    expect(out.assigned).toBe(1);
    expect(out.rejected).toEqual([
      { line: 3, customerId: "N1", rmId: "RM0002", error: "customer N1 was claimed by RM0001 on line 2" },
    ]);
    const shown = await cli(["customers", "show", "N1", "--json", ...AT], { dataDir });
    expect((shown.json() as { rmId: string }).rmId).toBe("RM0001");
  }, 180_000);
});
