import { type EstimateResult, estimateCampaign } from "#functions/campaign/estimate.ts";
import type { Count } from "#functions/campaign/sampling.ts";
import type { ResolvedCampaign } from "#functions/campaign/schema.ts";
import { type DryRunView, runDryRun } from "#functions/dryrun/job.ts";
import { dryRunInScope, startBodyDryRun, startCampaignDryRun } from "#functions/usecases/dryruns.ts";
import type { Runtime } from "#local/runtime.ts";
import { localOperator, useCaseDeps } from "./context.ts";
import { fmt, table } from "./output.ts";
import { previewText } from "./preview.ts";

export function runEstimate(
  runtime: Runtime,
  campaign: ResolvedCampaign,
  now: Date,
  sampleSize?: number,
): Promise<EstimateResult> {
  return estimateCampaign(runtime.repo, campaign, runtime.config, now, runtime.secret, {
    ...(sampleSize ? { sampleSize } : {}),
  });
}

const range = (c: Count) =>
  c.low === c.high ? fmt(c.estimate) : `${fmt(c.estimate)} (${fmt(c.low)}–${fmt(c.high)})`;

export function estimateText(e: EstimateResult): string {
  const rows = Object.entries(e.byTier).map(([tier, t]) => [
    tier,
    range(t.audience),
    range(t.eligible),
    range(t.deferred),
    range(t.holdout),
    range(t.excluded),
  ]);
  rows.push(["total", range(e.audience), range(e.eligible), range(e.deferred), range(e.holdout), ""]);
  const lines = [
    e.method === "exact"
      ? `Estimate of ${e.campaignId}: exact (${fmt(e.sample.decided)} decided), nothing sent.`
      : `Estimate of ${e.campaignId}: from a sample of ${fmt(e.sample.customersRead)} customers (${fmt(e.sample.decided)} in the segment), 95% intervals; nothing sent.`,
    "",
    table(["tier", "audience", "eligible", "deferred", "holdout", "excluded"], rows),
    "",
    `SMS: ${range(e.sms.messages)} messages, about ¥${e.sms.estimatedCost.estimate.toFixed(2)} (¥${e.sms.estimatedCost.low.toFixed(2)}–${e.sms.estimatedCost.high.toFixed(2)})`,
  ];
  for (const note of e.notes) lines.push(`note: ${note}`);
  for (const problem of e.problems) lines.push(`PROBLEM: ${problem}`);
  return lines.join("\n");
}

/**
 * The exact dry run as a job, run here in the foreground: the job record (its progress and result)
 * is stored as the API's would be, so `tiercast serve`'s approval page shows it.
 */
export async function dryRunJob(
  runtime: Runtime,
  now: () => Date,
  target: { campaign: ResolvedCampaign } | { campaignId: string },
  onProgress?: (view: {
    pagesDone: number;
    recipientsDecided: number;
    tasksDone: number;
    tasksTotal: number;
  }) => void,
): Promise<DryRunView> {
  const deps = {
    ...useCaseDeps(runtime, now),
    async startDryRun(jobId: string) {
      await runDryRun({ repo: runtime.repo, config: runtime.config, secret: runtime.secret, now }, jobId, {
        ...(onProgress ? { onProgress } : {}),
      });
    },
  };
  const actor = localOperator();
  const started =
    "campaign" in target
      ? await startBodyDryRun(deps, actor, target.campaign)
      : await startCampaignDryRun(deps, actor, target.campaignId);
  return started;
}

export function showDryRun(runtime: Runtime, now: () => Date, jobId: string): Promise<DryRunView> {
  return dryRunInScope(useCaseDeps(runtime, now), localOperator(), jobId);
}

export function dryRunText(v: DryRunView): string {
  const head = `Dry run ${v.jobId} of ${v.campaignId}${v.version !== null ? ` v${v.version}` : ""}: ${v.status}, ${fmt(v.progress.recipientsDecided)} recipients decided in ${fmt(v.progress.pagesDone)} pages (${v.progress.tasksDone}/${v.progress.tasksTotal} tier shards), at ${v.at}`;
  if (v.error) return `${head}\nerror: ${v.error}`;
  return v.result ? `${head}\n\n${previewText(v.result)}` : head;
}
