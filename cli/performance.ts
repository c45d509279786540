import { type Command, Option } from "commander";
import { UsageError } from "#platform/errors.ts";
import { lib, localOperator, useCaseDeps, withRuntime } from "./context.ts";
import { emit, fmt, type GlobalOptions, table } from "./output.ts";

const STAGES = ["targeted", "eligible", "sent", "delivered", "engaged", "responded", "converted"];
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const positiveInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be an integer ≥ 1, got "${v}"`);
  return n;
};

/**
 * Branch and RM performance, the bank's cascaded indicators, and the book rules (issues 18 and 19):
 * the same use cases as the API.
 */
export function addPerformanceCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  program
    .command("performance")
    .description("funnel and uplift by branch or by RM (one campaign, or every campaign), from the counters")
    .addOption(
      new Option("--by <by>", "one row per branch or per RM").choices(["branch", "rm"]).default("branch"),
    )
    .option("--campaign <campaignId>", "only this campaign")
    .option("--branch <branchId>", "only this branch")
    .option("--rm <rmId>", "only this RM")
    .option(
      "--period <period>",
      "only the stage moves in a quarter, month or ISO week (2027Q1, 2027-03, 2027-W09)",
    )
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv"]))
    .action(
      async (
        o: {
          by: "branch" | "rm";
          campaign?: string;
          branch?: string;
          rm?: string;
          period?: string;
          format?: string;
        },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        const report = await withRuntime(options, (runtime, now) =>
          lib.performanceAs(useCaseDeps(runtime, now), localOperator(), {
            by: o.by,
            ...(o.campaign ? { campaignId: o.campaign } : {}),
            ...(o.branch ? { branchId: o.branch } : {}),
            ...(o.rm ? { rmId: o.rm } : {}),
            ...(o.period ? { period: o.period } : {}),
          }),
        );
        if (o.format === "csv") {
          process.stdout.write(lib.performanceCsv(report));
          return;
        }
        emit({ json: options.json || o.format === "json" }, report, () =>
          table(
            [
              "branch",
              ...(o.by === "rm" ? ["RM"] : []),
              ...STAGES,
              "holdout",
              "conv. rate",
              "holdout rate",
              "uplift",
              "95% CI",
            ],
            [
              ...report.rows,
              { ...report.total, branchId: "total", rmId: o.by === "rm" ? "" : undefined },
            ].map((r) => [
              r.branchId,
              ...(o.by === "rm" ? [r.rmId ?? ""] : []),
              ...STAGES.map((s) => fmt((r as unknown as Record<string, number>)[s] ?? 0)),
              fmt(r.holdout),
              pct(r.conversionRate),
              pct(r.holdoutConversionRate),
              pct(r.uplift),
              `[${pct(r.upliftCi95[0])}, ${pct(r.upliftCi95[1])}]`,
            ]),
          ),
        );
      },
    );

  const indicators = program
    .command("indicators")
    .description(
      "the bank's quarterly indicators (指标), cascaded to months, weeks, branches and RMs, with progress",
    );
  indicators
    .command("show")
    .description("an indicator's cascade with progress from the counters")
    .requiredOption("--period <quarter>", "the quarter (2027Q1)")
    .option("--stage <stage>", "the funnel stage the indicator counts", "converted")
    .option("--branch <branchId>", "only this branch's figures")
    .option("--rm <rmId>", "only this RM's figures")
    .addOption(new Option("--level <level>", "only one level").choices(["bank", "branch", "rm"]))
    .addOption(
      new Option("--grain <grain>", "only quarters, months or weeks").choices(["quarter", "month", "week"]),
    )
    .action(
      async (
        o: { period: string; stage: string; branch?: string; rm?: string; level?: "bank"; grain?: "month" },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        const period = o.period;
        const report = await withRuntime(options, (runtime, now) =>
          lib.indicatorAs(useCaseDeps(runtime, now), localOperator(), {
            period,
            stage: o.stage,
            ...(o.branch ? { branchId: o.branch } : {}),
            ...(o.rm ? { rmId: o.rm } : {}),
            ...(o.level ? { level: o.level } : {}),
            ...(o.grain ? { grain: o.grain } : {}),
          }),
        );
        emit(options, report, () =>
          [
            `${report.stage} in ${report.period}: ${fmt(report.value)} (split by ${report.split})`,
            table(
              ["level", "branch", "RM", "period", "target", "actual", "progress"],
              report.rows.map((r) => [
                r.level,
                r.branchId ?? "",
                r.rmId ?? "",
                r.period,
                fmt(r.target),
                fmt(r.actual),
                `${r.progress}%`,
              ]),
            ),
          ].join("\n"),
        );
      },
    );
  indicators
    .command("set")
    .description("set the bank's indicator for a quarter and cascade it (replaces the quarter's cascade)")
    .requiredOption("--period <quarter>", "the quarter (2027Q1)")
    .requiredOption("--value <n>", "the count to reach in the quarter (a positive integer)")
    .option("--stage <stage>", "the funnel stage the indicator counts", "converted")
    .addOption(
      new Option("--split <split>", "branch and RM shares: by customers in the books, or equal").default(
        "customers",
      ),
    )
    .action(async (o: { period: string; value: string; stage: string; split: string }, cmd: Command) => {
      const options = globals(cmd);
      const plan = await withRuntime(options, (runtime, now) =>
        lib.setIndicatorAs(useCaseDeps(runtime, now), localOperator(), {
          period: o.period,
          stage: o.stage as never,
          // Checked with the other fields, so every problem is reported at once.
          value: /^\d+$/.test(o.value) ? Number(o.value) : (o.value as never),
          split: o.split as never,
        }),
      );
      emit(
        options,
        plan,
        () =>
          `indicator set: ${plan.stage} ≥ ${fmt(plan.value)} in ${plan.period}, over ${fmt(
            plan.nodes.filter((n) => n.level === "branch").length,
          )} branches and ${fmt(plan.nodes.filter((n) => n.level === "rm").length)} RMs`,
      );
    });

  indicators
    .command("split")
    .description(
      "re-split a branch's share of an indicator among its RMs by hand (the shares add up to the branch's quarter)",
    )
    .requiredOption("--period <quarter>", "the quarter (2027Q1)")
    .requiredOption("--branch <branchId>", "the branch whose share to re-split")
    .requiredOption(
      "--rm <rmId=n...>",
      "an RM and their share of the branch's quarter (repeat for every RM of the branch with a share)",
    )
    .option("--stage <stage>", "the funnel stage the indicator counts", "converted")
    .action(async (o: { period: string; branch: string; rm: string[]; stage: string }, cmd: Command) => {
      const options = globals(cmd);
      const bad = o.rm.filter((r) => !/^[^=\s]+=\d+$/.test(r));
      if (bad.length)
        throw new UsageError(`--rm: RM_ID=N (a whole number), got ${bad.map((b) => `"${b}"`).join(", ")}`);
      const shares = o.rm.map((r) => {
        const [rmId, n] = r.split("=") as [string, string];
        return { rmId, quarter: Number(n) };
      });
      const result = await withRuntime(options, (runtime, now) =>
        lib.splitBranchIndicatorAs(useCaseDeps(runtime, now), localOperator(), {
          period: o.period,
          stage: o.stage,
          branchId: o.branch,
          shares,
        }),
      );
      emit(options, result, () =>
        [
          `${result.stage} in ${result.period}, branch ${result.branchId}: ${fmt(result.nodes[0]!.quarter)} re-split`,
          table(
            ["RM", "quarter", ...Object.keys(result.nodes[0]!.months)],
            result.nodes
              .slice(1)
              .map((n) => [n.rmId ?? "", fmt(n.quarter), ...Object.values(n.months).map((v) => fmt(v))]),
          ),
        ].join("\n"),
      );
    });

  const books = program.commands.find((c) => c.name() === "books");
  if (!books) throw new Error("the books command must be defined first");
  books
    .command("assign")
    .description(
      "book rules A–D (000:640): keep, claim (--claims FILE), assign the unclaimed by tier and branch, cap",
    )
    .option("--claims <file>", "RMs' claims: .jsonl/.csv/.xlsx lines of customerId, rmId")
    .option("--cap <n>", "the most customers per book (default rm.bookCap)", positiveInt("--cap"))
    .option("--tiers <tiers>", "the tiers that must all have an RM (comma-separated)", "potential,quality")
    .option("--dry-run", "show the plan, write nothing")
    .action(async (o: { claims?: string; cap?: number; tiers: string; dryRun?: boolean }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, async (runtime, now) =>
        lib.assignBooksAs(useCaseDeps(runtime, now), localOperator(), {
          ...(o.claims ? { claims: await lib.openSource(o.claims) } : {}),
          ...(o.cap ? { cap: o.cap } : {}),
          tiers: o.tiers
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean),
          dryRun: Boolean(o.dryRun),
        }),
      );
      emit(options, result, () =>
        [
          `${result.dryRun ? "plan (nothing written)" : "books assigned"}: kept ${fmt(result.kept)}, claimed ${fmt(
            result.claimed,
          )}, assigned ${fmt(result.assigned)}${result.skipped ? `, skipped ${fmt(result.skipped)} (given an RM meanwhile)` : ""}; claims refused ${fmt(
            result.rejected.length,
          )}; still without an RM ${fmt(result.unassigned)}; over the cap of ${fmt(result.cap)}: ${fmt(
            result.overCap.length,
          )} RMs`,
          ...result.rejected.slice(0, 20).map((r) => `line ${r.line}: ${r.error}`),
          table(
            ["RM", "claimed", "assigned", "book"],
            result.byRm.slice(0, 30).map((r) => [r.rmId, fmt(r.claimed), fmt(r.assigned), fmt(r.book)]),
          ),
        ].join("\n"),
      );
    });
}
