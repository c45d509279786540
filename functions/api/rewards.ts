import { z } from "zod";
import { REWARD_COLUMNS } from "#functions/referrals/rewards.ts";
import { listRewardsAs, payRewardAs, type RewardStatus } from "#functions/usecases/rewards.ts";
import { csvRow } from "#platform/csv.ts";
import { InputError } from "#platform/errors.ts";
import { type AnyRoute, route } from "./http.ts";

const PayBody = z
  .object({ reference: z.string().min(1).max(128).optional().describe("the bank's settlement reference") })
  .default({});

const statusOf = (value: string | undefined): RewardStatus => {
  const status = value ?? "all";
  if (status !== "due" && status !== "paid" && status !== "all")
    throw new InputError(`status must be due, paid or all, got "${status}"`);
  return status;
};

/** Referral rewards (老带新): listed, exported as CSV for the bank's settlement, and marked paid. */
export const rewardRoutes: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/rewards",
    summary: "Referral rewards (?campaign=, ?status=due|paid|all, ?format=csv for the settlement export)",
    roles: ["marketer", "analyst", "admin"],
    query: { campaign: "one referral drive", status: "due, paid or all (default)", format: "json|csv" },
    async handle({ actor, query, deps }) {
      const rewards = await listRewardsAs(deps, actor, {
        ...(query.campaign ? { campaignId: query.campaign } : {}),
        status: statusOf(query.status),
      });
      if (query.format === "csv")
        return {
          status: 200,
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": 'attachment; filename="rewards.csv"',
          },
          body: `${csvRow(REWARD_COLUMNS)}${rewards
            .map((r) => csvRow(REWARD_COLUMNS.map((c) => (r as unknown as Record<string, unknown>)[c] ?? "")))
            .join("")}`,
        };
      return { rewards };
    },
  }),
  route({
    method: "POST",
    path: "/api/rewards/{campaignId}/{referrerId}/pay",
    summary: "Mark a referral reward paid (once; the same reference again changes nothing, 409 otherwise)",
    roles: ["admin"],
    body: PayBody,
    async handle({ actor, params, body, deps }) {
      const { reference } = body as z.infer<typeof PayBody>;
      return payRewardAs(deps, actor, params.campaignId!, params.referrerId!, reference);
    },
  }),
];
