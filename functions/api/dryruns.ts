import { z } from "zod";
import type { Role } from "#functions/access/users.ts";
import { estimateCampaign } from "#functions/campaign/estimate.ts";
import { Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { campaignFromBody, campaignInScope } from "#functions/usecases/campaigns.ts";
import {
  campaignDryRun,
  dryRunInScope,
  startBodyDryRun,
  startCampaignDryRun,
} from "#functions/usecases/dryruns.ts";
import { type AnyRoute, json, route } from "./http.ts";

const Empty = z.object({}).default({});
const ANYONE: readonly Role[] = ["marketer", "approver", "analyst", "admin"];
/** Who may start an exact dry run: the makers (the builder's exact count) and the checkers (the approval page). */
const STARTERS: readonly Role[] = ["marketer", "approver", "admin"];

/** Preview at any size (issue 21): the builder's sampled estimate, and the exact dry run as a job. */
export const dryRunRoutes: AnyRoute[] = [
  route({
    method: "POST",
    path: "/api/estimate",
    summary: "Sampled estimate of a campaign body, with 95% intervals (bounded work at any segment size)",
    roles: ANYONE,
    body: Campaign,
    rawJson: true,
    async handle({ actor, body, deps }) {
      const campaign = campaignFromBody(deps, actor, body);
      return estimateCampaign(deps.repo, campaign, deps.config, deps.now(), deps.secret);
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/estimate",
    summary: "Sampled estimate of a saved campaign",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      const record = await campaignInScope(deps, actor, params.campaignId!);
      const campaign = parseCampaign(record.campaign, deps.config);
      return estimateCampaign(deps.repo, campaign, deps.config, deps.now(), deps.secret);
    },
  }),
  route({
    method: "POST",
    path: "/api/dry-runs",
    summary: "Start the exact dry run of a campaign body as a job (poll GET /api/dry-runs/{jobId})",
    roles: STARTERS,
    body: Campaign,
    rawJson: true,
    async handle({ actor, body, deps }) {
      return json(202, await startBodyDryRun(deps, actor, body));
    },
  }),
  route({
    method: "POST",
    path: "/api/campaigns/{campaignId}/dry-runs",
    summary: "Start the exact dry run of a saved campaign's current version as a job",
    roles: STARTERS,
    body: Empty,
    async handle({ actor, params, deps }) {
      return json(202, await startCampaignDryRun(deps, actor, params.campaignId!));
    },
  }),
  route({
    method: "GET",
    path: "/api/dry-runs/{jobId}",
    summary: "A dry run's progress, and its result once done",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      return dryRunInScope(deps, actor, params.jobId!);
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/dry-run",
    summary:
      "The latest dry run of the campaign's current version (or of an older one, or none): the approval view",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      return campaignDryRun(deps, actor, params.campaignId!);
    },
  }),
];
