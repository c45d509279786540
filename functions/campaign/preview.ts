import type { TiercastConfig } from "#platform/config.ts";
import { mapLimit, type Repo } from "#platform/repo.ts";
import {
  allocate,
  type Decision,
  decide,
  inSegment,
  memoryAllocator,
  prepare,
  type RenderedMessage,
} from "./decide.ts";
import type { PreviewResult } from "./preview-result.ts";
import type { ResolvedCampaign } from "./schema.ts";
import { contactStates, pagesOf, segmentTasks } from "./segment.ts";
import { addDecision, emptySummary } from "./summary.ts";
import { localDay } from "./time.ts";

export type { PreviewResult } from "./preview-result.ts";

/**
 * Decides every audience member exactly as a launch would, and writes nothing. Shard tasks run in a
 * bounded pool; contact de-duplication uses an in-memory set of hashed contacts (the launch uses
 * conditional writes instead).
 */
export async function previewCampaign(
  repo: Repo,
  campaign: ResolvedCampaign,
  config: TiercastConfig,
  now: Date,
  secret: string,
  options: {
    concurrency?: number;
    /** After each page: the customers it read and the audience members it decided. */
    onPage?: (read: number, decided: number) => void;
    /** After each shard task, with how many there are. */
    onTask?: (done: number, total: number) => void;
  } = {},
): Promise<PreviewResult> {
  const ctx = prepare(campaign, config, now, secret);
  const allocator = memoryAllocator();
  const summary = emptySummary();
  const samples: PreviewResult["samples"] = [];
  const sampleCount = new Map<string, number>();
  const missing = new Map<string, number>();
  const record = (d: Decision) => {
    addDecision(summary, d);
    if (d.reason?.startsWith("missing_variable:")) {
      const key = `${d.variant}:${d.reason.slice(17)}`;
      missing.set(key, (missing.get(key) ?? 0) + 1);
    }
    const sample = sampleOf(d, sampleCount);
    if (sample) samples.push(sample);
  };
  // Pages stream through: decided, allocated and counted, then dropped. Only the hashed contacts stay.
  const tasks = segmentTasks(
    campaign.segment,
    config.shards,
    now,
    localDay(now, config.quietHours.timeZone),
    repo.missingIndexes,
  );
  let tasksDone = 0;
  await mapLimit(tasks, options.concurrency ?? 4, async (task) => {
    for await (const page of pagesOf(repo, campaign.segment.scheme, task, config.pageSize)) {
      const audience = page.filter((c) => inSegment(c, ctx));
      const states = await contactStates(repo, audience);
      const decisions = audience.map((c) => decide(c, states.get(c.customerId), ctx));
      await allocate(decisions, allocator, ctx);
      decisions.forEach(record);
      options.onPage?.(page.length, decisions.length);
    }
    options.onTask?.(++tasksDone, tasks.length);
  });
  const problems = [...missing].map(([k, n]) => {
    const [variant, name] = k.split(":");
    return `variant ${variant}: ${n} recipients have no value for {{${name}}}; give it a default like {{${name}|…}}`;
  });
  return {
    campaignId: campaign.campaignId,
    audience: summary.audience,
    eligible: summary.eligible,
    deferred: summary.deferred,
    holdout: summary.holdout,
    excluded: summary.excluded,
    byTier: summary.byTier,
    byVariant: summary.byVariant,
    sms: {
      messages: summary.smsMessages,
      parts: summary.smsParts,
      estimatedCost: Math.round(summary.smsParts * config.sms.costPerPart * 100) / 100,
      currency: "CNY",
    },
    samples,
    problems,
  };
}

/** The first two messages of each variant, masked, as examples for the marketer. */
export function sampleOf(
  d: Decision,
  perVariant: Map<string, number>,
): PreviewResult["samples"][number] | undefined {
  if (!d.message || !d.variant || (perVariant.get(d.variant) ?? 0) >= 2) return undefined;
  perVariant.set(d.variant, (perVariant.get(d.variant) ?? 0) + 1);
  return {
    variant: d.variant,
    channel: d.channel!,
    tier: d.tier,
    message: maskSample(d.message),
    ...(d.dueAt ? { dueAt: d.dueAt } : {}),
  };
}

/** Samples are shown to marketers: the contact is masked (PII). */
function maskSample(m: RenderedMessage): RenderedMessage {
  return { ...m, to: maskContact(m.to) };
}

export function maskContact(contact: string): string {
  if (contact.includes("@")) {
    const [user, domain] = contact.split("@");
    return `${user!.slice(0, 1)}***@${domain}`;
  }
  if (contact.length >= 7) return `${contact.slice(0, contact.length - 8)}****${contact.slice(-4)}`;
  return contact;
}
