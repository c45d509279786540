import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Channel } from "#functions/campaign/schema.ts";

/** CloudWatch metrics (EMF) for sends, by channel: what the dashboard and the provider-error alarm read. */
export const metrics = new Metrics({ namespace: "Tiercast", serviceName: "tiercast" });

/** Names of the per-channel send outcomes (dimension `channel`). */
export const SEND_METRICS = [
  "sent",
  "failed",
  "unknown",
  "deferred",
  "excluded",
  "retry",
  "skipped",
] as const;

/** Counts per outcome by channel, and by tier (what the dashboard's per-tier widgets read). */
export function recordOutcomes(
  channel: Channel,
  outcomes: readonly string[],
  tiers: readonly (string | undefined)[] = [],
) {
  const emit = (dimension: string, value: string, list: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const o of list) counts.set(o, (counts.get(o) ?? 0) + 1);
    // One single-metric object per value: it publishes on addMetric and then forgets its dimensions,
    // so a second addMetric on it would go out without the channel or tier the alarms read.
    for (const [name, n] of counts) {
      const single = metrics.singleMetric();
      single.addDimension(dimension, value);
      single.addMetric(name, MetricUnit.Count, n);
    }
  };
  emit("channel", channel, outcomes);
  const byTier = new Map<string, string[]>();
  outcomes.forEach((o, i) => {
    const tier = tiers[i];
    if (tier) byTier.set(tier, [...(byTier.get(tier) ?? []), o]);
  });
  for (const [tier, list] of byTier) emit("tier", tier, list);
}

/** A funnel stage reached through a provider receipt (delivered, engaged, …): the dashboard's funnel widget. */
export function recordStage(stage: string, channel: string | undefined) {
  const single = metrics.singleMetric();
  single.addDimension("stage", stage);
  if (channel) single.addDimension("channel", channel);
  single.addMetric("funnel", MetricUnit.Count, 1);
}

/** What handlers record through: EMF on AWS; nothing on the embedded runtime, which has no reader for it. */
export interface SendMetrics {
  recordOutcomes: typeof recordOutcomes;
  recordStage: typeof recordStage;
}

export const cloudWatchMetrics: SendMetrics = { recordOutcomes, recordStage };
export const noMetrics: SendMetrics = { recordOutcomes: () => {}, recordStage: () => {} };
