import { type PreviewResult, previewCampaign } from "#functions/campaign/preview.ts";
import type { ResolvedCampaign } from "#functions/campaign/schema.ts";
import type { Runtime } from "#local/runtime.ts";
import { fmt, table } from "./output.ts";

export function runPreview(runtime: Runtime, campaign: ResolvedCampaign, now: Date): Promise<PreviewResult> {
  return previewCampaign(runtime.repo, campaign, runtime.config, now, runtime.secret);
}

export function previewText(p: PreviewResult): string {
  const reasons = Object.keys(p.excluded).sort();
  const rows = Object.entries(p.byTier).map(([tier, t]) => [
    tier,
    fmt(t.audience),
    fmt(t.eligible),
    fmt(t.deferred),
    fmt(t.holdout),
    ...reasons.map((r) => fmt(t.excludedBy[r] ?? 0)),
  ]);
  rows.push([
    "total",
    fmt(p.audience),
    fmt(p.eligible),
    fmt(p.deferred),
    fmt(p.holdout),
    ...reasons.map((r) => fmt(p.excluded[r] ?? 0)),
  ]);
  const lines = [
    `Preview of ${p.campaignId}: ${fmt(p.audience)} in the audience, nothing sent.`,
    "",
    table(["tier", "audience", "eligible", "deferred", "holdout", ...reasons], rows),
    "",
    `SMS: ${fmt(p.sms.messages)} messages, ${fmt(p.sms.parts)} parts, about ¥${p.sms.estimatedCost.toFixed(2)}`,
  ];
  for (const s of p.samples) {
    lines.push(
      "",
      `— sample, variant ${s.variant} (${s.channel}, ${s.tier}) to ${s.message.to}${s.dueAt ? `, due ${s.dueAt}` : ""}`,
    );
    if (s.message.subject) lines.push(`  subject: ${s.message.subject}`);
    lines.push(
      `  ${s.message.text ?? s.message.html}${s.message.parts ? `  [${s.message.parts} part${s.message.parts > 1 ? "s" : ""}]` : ""}`,
    );
  }
  for (const problem of p.problems) lines.push(`PROBLEM: ${problem}`);
  return lines.join("\n");
}
