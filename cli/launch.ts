import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { saveCampaign } from "#functions/campaign/record.ts";
import type { ResolvedCampaign } from "#functions/campaign/schema.ts";
import { awaitDispatch, type DispatchProgress, type LaunchDeps } from "#functions/launch/core.ts";
import { ledgerStates } from "#functions/ledger/reads.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { releaseDue } from "#functions/release/core.ts";
import { runDueSchedules } from "#functions/schedules/core.ts";
import { type DispatchOptions, type DispatchServices, startDispatch } from "#local/dispatch.ts";
import { runLaunchWorkflow } from "#local/launch.ts";
import type { Runtime } from "#local/runtime.ts";
import { CHANNEL_QUEUES, dlqName } from "#local/sqs.ts";
import { WorkflowFailedError } from "#platform/errors.ts";
import type { RecipientRef } from "#platform/queue.ts";
import { batchGet } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { fmt, table } from "./output.ts";

export interface LaunchResult {
  campaignId: string;
  status: "SUCCEEDED" | "FAILED";
  sent: number;
  deferred: number;
  failed: number;
  excluded: number;
  holdout: number;
  unknown: number;
  byTier: Record<string, Record<string, number>>;
  /** What this invocation did (CONTRACT.md): a relaunch of a finished campaign shows 0 here. */
  thisLaunch: { sent: number; deferred: number; failed: number };
  error?: string;
}

type Counted = LaunchResult["thisLaunch"];

/** The campaign's ledger rows per decision now (sent, deferred, failed), over every shard. */
async function decisionCounts(runtime: Runtime, campaignId: string): Promise<Counted> {
  const counts: Counted = { sent: 0, deferred: 0, failed: 0 };
  for (let shard = 0; shard < runtime.config.shards; shard++)
    for await (const { decision } of ledgerStates(runtime.repo, campaignId, shard))
      if (decision in counts) counts[decision as keyof Counted]++;
  return counts;
}

export async function launchCampaign(
  runtime: Runtime,
  campaign: ResolvedCampaign,
  now: Date,
  options: DispatchOptions = {},
) {
  await saveCampaign(runtime.repo, campaign, now);
  await startDispatch(runtime, options);
  const before = await decisionCounts(runtime, campaign.campaignId);
  const out = (await runLaunchWorkflow(runtime, {
    campaignId: campaign.campaignId,
    at: now.toISOString(),
  })) as LaunchResult & Record<string, unknown>;
  const result: LaunchResult = {
    campaignId: campaign.campaignId,
    status: out.status,
    sent: out.sent ?? 0,
    deferred: out.deferred ?? 0,
    failed: out.failed ?? 0,
    excluded: out.excluded ?? 0,
    holdout: out.holdout ?? 0,
    unknown: out.unknown ?? 0,
    byTier: out.byTier ?? {},
    thisLaunch: { sent: 0, deferred: 0, failed: 0 },
    ...(out.error ? { error: out.error } : {}),
  };
  // What this run added: rows that became sent, deferred or failed since it started (a deferred row
  // this run sent counts as sent, not as a negative deferral).
  const after = await decisionCounts(runtime, campaign.campaignId);
  for (const k of ["sent", "deferred", "failed"] as const)
    result.thisLaunch[k] = Math.max(0, after[k] - before[k]);
  return result;
}

export function launchText(r: LaunchResult): string {
  const states = ["sent", "deferred", "failed", "unknown", "excluded", "holdout"];
  const rows = Object.entries(r.byTier).map(([tier, t]) => [tier, ...states.map((s) => fmt(t[s] ?? 0))]);
  rows.push(["total", ...states.map((s) => fmt((r as unknown as Record<string, number>)[s] ?? 0))]);
  const mine = r.thisLaunch;
  const nothing = mine.sent + mine.deferred + mine.failed === 0 && r.sent + r.deferred + r.failed > 0;
  return [
    `Launch of ${r.campaignId}: ${r.status}${r.error ? ` (${r.error})` : ""}`,
    `This launch: sent ${fmt(mine.sent)}, deferred ${fmt(mine.deferred)}, failed ${fmt(mine.failed)}${nothing ? " (already launched: nothing new; the table is the campaign's totals)" : ""}`,
    "",
    "Campaign totals:",
    table(["tier", ...states], rows),
  ].join("\n");
}

/** Waits until none of these campaigns has a send in flight, sweeping rows a crash left behind. */
export async function drainCampaigns(runtime: Runtime, campaignIds: string[], deadlineMs = 10 * 60_000) {
  // With the provider lookup: a send released by tick whose answer was lost is reconciled here too.
  const deps: LaunchDeps = { ...runtime.app.launchDeps(), sweepAfterMs: runtime.settings.sweepAfterMs };
  const started = Date.now();
  for (const campaignId of campaignIds) {
    let progress: DispatchProgress | undefined;
    do {
      progress = await awaitDispatch({ campaignId, dispatch: progress }, deps);
      if (progress.inFlight > 0) await new Promise((r) => setTimeout(r, 100));
      if (Date.now() - started > deadlineMs)
        throw new WorkflowFailedError(`sends still in flight after ${deadlineMs / 1000} s`);
    } while (progress.inFlight > 0);
  }
}

export async function tick(runtime: Runtime, options: DispatchOptions = {}) {
  await startDispatch(runtime, options);
  const deps = runtime.app.base();
  // Schedules first: a run due now launches (to completion, on this runtime) before deferred sends are released.
  // The workflow's Finalize step records the outcome in the campaign's trail, as on AWS.
  const schedules = await runDueSchedules({
    ...runtime.app.auditDeps(),
    async startLaunch(campaignId, version, at) {
      await runLaunchWorkflow(runtime, { campaignId, at });
      return { executionId: `local:${campaignId}:v${version}` };
    },
  });
  const released = await releaseDue({
    repo: deps.repo,
    shards: runtime.config.shards,
    now: deps.now,
    enqueue: deps.enqueue,
  });
  await drainCampaigns(runtime, Object.keys(released.campaigns));
  const counts = { released: released.released, sent: 0, deferred: 0, failed: 0, unknown: 0, excluded: 0 };
  for (const [campaignId, refs] of Object.entries(released.campaigns)) {
    for (const row of await ledgerRows(runtime, campaignId, refs)) {
      if (row.decision in counts) counts[row.decision as keyof typeof counts]++;
    }
  }
  return { ...counts, schedules };
}

function ledgerRows(runtime: Runtime, campaignId: string, refs: RecipientRef[]): Promise<LedgerRow[]> {
  const keys = refs.map((r) => key.ledger(campaignId, r.shard, r.customerId));
  return batchGet(runtime.repo.ddb, runtime.repo.table, keys) as unknown as Promise<LedgerRow[]>;
}

/** Dead-lettered dispatch messages: list them (without consuming) or move them back to their queue and send. */
export async function dlq(runtime: Runtime, action: "list" | "redrive") {
  const services: DispatchServices = await startDispatch(runtime, { workers: action === "redrive" });
  const out: {
    queue: string;
    messages: number;
    recipients: number;
    campaigns: string[];
    redriven?: number;
  }[] = [];
  const touched = new Set<string>();
  for (const queue of Object.values(CHANNEL_QUEUES)) {
    const dlqUrl = services.queues.urls[dlqName(queue)]!;
    let messages = 0;
    let recipients = 0;
    let redriven = 0;
    const campaigns = new Set<string>();
    for (;;) {
      // Listing holds messages invisible for the rest of this run; they are saved with the queue on stop.
      const got = await services.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 300,
          WaitTimeSeconds: 0,
        }),
      );
      const batch = got.Messages ?? [];
      if (batch.length === 0) break;
      messages += batch.length;
      for (const m of batch) {
        const body = JSON.parse(m.Body ?? "{}") as { recipients?: unknown[]; campaignId?: string };
        recipients += body.recipients?.length ?? 0;
        if (body.campaignId) campaigns.add(body.campaignId);
      }
      if (action === "redrive") {
        await services.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: services.queues.urls[queue]!,
            Entries: batch.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? "" })),
          }),
        );
        await services.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: dlqUrl,
            Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        redriven += batch.length;
      }
    }
    for (const c of campaigns) touched.add(c);
    out.push({
      queue,
      messages,
      recipients,
      campaigns: [...campaigns],
      ...(action === "redrive" ? { redriven } : {}),
    });
  }
  if (action === "redrive") {
    const deadline = Date.now() + 10 * 60_000;
    while (Object.values(CHANNEL_QUEUES).some((q) => services.queues.depth(q) > 0)) {
      if (Date.now() > deadline)
        throw new WorkflowFailedError("redriven messages still queued after 10 minutes");
      await new Promise((r) => setTimeout(r, 100));
    }
    await drainCampaigns(runtime, [...touched]);
  }
  return out;
}
