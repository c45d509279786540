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

export function recordOutcomes(channel: Channel, outcomes: readonly string[]) {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  const single = metrics.singleMetric();
  single.addDimension("channel", channel);
  for (const [name, n] of counts) single.addMetric(name, MetricUnit.Count, n);
}
