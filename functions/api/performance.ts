import { z } from "zod";
import type { Role } from "#functions/access/users.ts";
import { performanceCsv } from "#functions/funnel/performance.ts";
import { assignBooksAs } from "#functions/usecases/books.ts";
import {
  indicatorAs,
  performanceAs,
  setIndicatorAs,
  splitBranchIndicatorAs,
} from "#functions/usecases/performance.ts";
import { InputError } from "#platform/errors.ts";
import { type AnyRoute, route } from "./http.ts";

/** Who reads performance: head office's roles, and the branch manager and RM in their scope. */
const READERS: readonly Role[] = ["marketer", "approver", "analyst", "admin", "branch_manager", "rm"];
const MANAGERS: readonly Role[] = ["branch_manager", "admin"];

const IndicatorBody = z.object({
  value: z.number().int().positive().describe("the quarter's count to reach, for the whole bank"),
  split: z.enum(["customers", "equal"]).optional().describe("branch and RM shares (default: by customers)"),
});

const SplitBody = z.object({
  rms: z
    .array(
      z.object({
        rmId: z.string().min(1).max(64),
        quarter: z.number().int().min(0).describe("this RM's share of the branch's quarter"),
      }),
    )
    .min(1)
    .max(1000)
    .describe("every RM of the branch with a share; the shares add up to the branch's quarter"),
});

const BooksBody = z
  .object({
    claims: z
      .array(z.object({ customerId: z.string(), rmId: z.string() }))
      .max(100_000)
      .optional()
      .describe("rule B: RMs' claims, refused one by one (by their place in the list)"),
    cap: z.number().int().min(1).optional().describe("the most customers per book (default rm.bookCap)"),
    tiers: z
      .array(z.string())
      .optional()
      .describe("tiers that must all have an RM (default potential, quality)"),
    dryRun: z.boolean().optional().describe("the plan only; nothing written"),
  })
  .default({});

const byOf = (v: string | undefined) => {
  const by = v ?? "branch";
  if (by !== "branch" && by !== "rm") throw new InputError(`by must be branch or rm, got "${by}"`);
  return by;
};
const oneOf = <T extends string>(name: string, v: string | undefined, values: readonly T[]) => {
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v))
    throw new InputError(`${name} must be one of ${values.join(", ")}, got "${v}"`);
  return v as T;
};

/** Branch and RM performance, the bank's cascaded indicators, and the book rules (issues 18, 19). */
export const performanceRoutes: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/performance",
    summary:
      "Funnel and uplift by branch or RM (?by=branch|rm, ?campaign=, ?branch=, ?rm=, ?period=, ?format=csv); a branch user's own branch only",
    roles: READERS,
    query: {
      by: "branch (default) or rm",
      campaign: "one campaign (default: all)",
      branch: "one branch",
      rm: "one RM",
      period: "a quarter, month or ISO week: only stage moves then",
      format: "json|csv",
    },
    async handle({ actor, query, deps }) {
      const report = await performanceAs(deps, actor, {
        by: byOf(query.by),
        ...(query.campaign ? { campaignId: query.campaign } : {}),
        ...(query.branch ? { branchId: query.branch } : {}),
        ...(query.rm ? { rmId: query.rm } : {}),
        ...(query.period ? { period: query.period } : {}),
      });
      if (query.format === "csv")
        return {
          status: 200,
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="performance-by-${report.by}.csv"`,
          },
          body: performanceCsv(report),
        };
      return report;
    },
  }),
  route({
    method: "GET",
    path: "/api/indicators/{period}/{stage}",
    summary:
      "A quarter's indicator cascaded to months, weeks, branches and RMs, with progress (?branch=, ?rm=, ?level=, ?grain=)",
    roles: READERS,
    query: {
      branch: "one branch",
      rm: "one RM",
      level: "bank, branch or rm",
      grain: "quarter, month or week",
    },
    async handle({ actor, params, query, deps }) {
      const level = oneOf("level", query.level, ["bank", "branch", "rm"] as const);
      const grain = oneOf("grain", query.grain, ["quarter", "month", "week"] as const);
      return indicatorAs(deps, actor, {
        period: params.period!,
        stage: params.stage!,
        ...(query.branch ? { branchId: query.branch } : {}),
        ...(query.rm ? { rmId: query.rm } : {}),
        ...(level ? { level } : {}),
        ...(grain ? { grain } : {}),
      });
    },
  }),
  route({
    method: "PUT",
    path: "/api/indicators/{period}/{stage}",
    summary:
      "Set the bank's indicator for a quarter and cascade it (head office; replaces the quarter's cascade)",
    roles: ["admin"],
    body: IndicatorBody,
    rawJson: true,
    async handle({ actor, params, body, deps }) {
      const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
      return setIndicatorAs(deps, actor, {
        period: params.period!,
        stage: params.stage as never,
        value: b.value as number,
        ...(b.split !== undefined ? { split: b.split as never } : {}),
      });
    },
  }),
  route({
    method: "PUT",
    path: "/api/indicators/{period}/{stage}/branches/{branchId}",
    summary:
      "Re-split a branch's share of the indicator among its RMs by hand (its branch manager, or head office)",
    roles: MANAGERS,
    body: SplitBody,
    async handle({ actor, params, body, deps }) {
      return splitBranchIndicatorAs(deps, actor, {
        period: params.period!,
        stage: params.stage!,
        branchId: params.branchId!,
        shares: (body as z.infer<typeof SplitBody>).rms,
      });
    },
  }),
  route({
    method: "POST",
    path: "/api/books/assign",
    summary:
      "Book rules A–D (000:640): keep, claim, assign the unclaimed by tier and branch, cap per RM (a branch's, for its users)",
    roles: MANAGERS,
    body: BooksBody,
    async handle({ actor, body, deps }) {
      const b = body as z.infer<typeof BooksBody>;
      const claims = b.claims;
      return assignBooksAs(deps, actor, {
        ...(claims
          ? {
              claims: (async function* () {
                for (const [i, c] of claims.entries()) yield { line: i + 1, value: c };
              })(),
            }
          : {}),
        ...(b.cap ? { cap: b.cap } : {}),
        ...(b.tiers ? { tiers: b.tiers } : {}),
        ...(b.dryRun ? { dryRun: true } : {}),
      });
    },
  }),
];
