import { samplePage } from "#functions/customers/store.ts";
import { PRIMARY_SCHEME, type TiercastConfig } from "#platform/config.ts";
import { mapLimit, type Repo } from "#platform/repo.ts";
import { allocate, type Decision, decide, inSegment, memoryAllocator, prepare } from "./decide.ts";
import { type PreviewResult, previewCampaign, sampleOf } from "./preview.ts";
import { type Count, SampleTally, thresholdSample } from "./sampling.ts";
import type { ResolvedCampaign } from "./schema.ts";
import { careIndexOf, contactStates } from "./segment.ts";

/**
 * The builder's estimate (issue 21): a campaign decided on a bounded, deterministic random sample of
 * its segment, scaled to the population with 95% intervals (the math: ./sampling.ts). Writes nothing.
 * The work is at most `sampleSize` customers (plus one per shard), whatever the segment's size: one
 * query per primary-tier shard of the sample index (GSI5) and the contact states of those in segment.
 */

export const DEFAULT_SAMPLE_SIZE = 4000;

export interface EstimateResult {
  campaignId: string;
  /** Always true: these are estimates, not the exact dry run (POST /api/campaigns/{id}/dry-runs). */
  estimate: true;
  /** `sample`: decided on a sample; `exact`: every customer was read (a small bank, a birthday segment). */
  method: "sample" | "exact";
  confidence: 0.95;
  interval: string;
  sample: {
    /** Customers read from the sample index (in segment or not). */
    customersRead: number;
    /** Of them, in the segment and decided. */
    decided: number;
    /** Per primary tier (the strata): its sampling rate (1: read whole) and customers read. */
    strata: Record<string, { rate: number; customersRead: number }>;
  };
  audience: Count;
  eligible: Count;
  deferred: Count;
  holdout: Count;
  excluded: Record<string, Count>;
  byTier: Record<
    string,
    {
      audience: Count;
      eligible: Count;
      deferred: Count;
      holdout: Count;
      excluded: Count;
      excludedBy: Record<string, Count>;
    }
  >;
  /** Recipients (eligible + deferred) per variant. */
  byVariant: Record<string, { channel: string; recipients: Count; eligible: Count; deferred: Count }>;
  /** Recipients (eligible + deferred) per channel. */
  byChannel: Record<string, Count>;
  sms: { messages: Count; parts: Count; estimatedCost: Count; currency: "CNY" };
  samples: PreviewResult["samples"];
  problems: string[];
  notes: string[];
}

export const INTERVAL_METHOD =
  "score (Wilson-type) interval for Poisson sampling at each primary tier's rate; tiers combined by adding half-widths in quadrature";

const SAMPLE_NOTES = [
  "An estimate from a random sample of the segment, not the exact count: run the exact dry run for that.",
  "Duplicate contacts and RM daily capacity are judged within the sample only, so duplicate_contact and RM-task deferrals are undercounted here; the exact dry run has them.",
];

/** The strata a segment's sample reads: its own tiers in a primary scheme, else every tier of the primary scheme the customers are in. */
export function strataOf(
  campaign: ResolvedCampaign,
  config: TiercastConfig,
): { scheme: string; tier: string }[] {
  const schemeName = campaign.segment.scheme;
  const scheme = config.tierSchemes[schemeName];
  if (schemeName === PRIMARY_SCHEME.retail || schemeName === PRIMARY_SCHEME.corporate)
    return campaign.segment.tiers.map((tier) => ({ scheme: schemeName, tier }));
  const primary = PRIMARY_SCHEME[scheme?.appliesTo ?? "retail"];
  return (config.tierSchemes[primary]?.tiers ?? []).map((t) => ({ scheme: primary, tier: t.name }));
}

export async function estimateCampaign(
  repo: Repo,
  campaign: ResolvedCampaign,
  config: TiercastConfig,
  now: Date,
  secret: string,
  options: { sampleSize?: number } = {},
): Promise<EstimateResult> {
  // A care segment reads its care index (a birthday: about 1/365 of the bank; opened or transacted
  // within hours: the window's days): decided whole, exactly. A data dir from before the sample index
  // has no sample to read: decided whole too, and said so.
  const noIndex = repo.missingIndexes.has("GSI5");
  // (Transacted within hours alone may hold most of an active bank: that one is sampled.)
  const care = careIndexOf(campaign.segment, repo.missingIndexes);
  const small = care === "GSI4" || (care === "GSI6" && campaign.segment.openedWithinHours !== undefined);
  if (small || noIndex) {
    const exact = await previewCampaign(repo, campaign, config, now, secret);
    return exactEstimate(
      exact,
      noIndex
        ? [
            "This data dir predates the sample index (GSI5), so every customer was decided. Start a fresh data dir and import again to get sampled estimates.",
          ]
        : care === "GSI4"
          ? [
              "A birthday segment reads only the day's customers, so every one of them was decided: the counts are exact.",
            ]
          : [
              "An opened-within segment reads only the customers active in its window, so every one of them was decided: the counts are exact.",
            ],
    );
  }
  const strata = strataOf(campaign, config);
  const shards = config.shards;
  const budget = Math.max(1, options.sampleSize ?? DEFAULT_SAMPLE_SIZE);
  const perShard = Math.max(20, Math.ceil(budget / Math.max(1, strata.length * shards)));

  const reads = await mapLimit(
    strata.flatMap((s) => Array.from({ length: shards }, (_, shard) => ({ ...s, shard }))),
    8,
    async (p) => ({ ...p, read: await samplePage(repo, p.scheme, p.tier, p.shard, perShard + 1) }),
  );
  const tally = new SampleTally();
  const sample: EstimateResult["sample"] = { customersRead: 0, decided: 0, strata: {} };
  const ctx = prepare(campaign, config, now, secret);
  const allocator = memoryAllocator();
  const byStratum: { name: string; decisions: Decision[] }[] = [];
  for (const s of strata) {
    const name = `${s.scheme}:${s.tier}`;
    const picked = thresholdSample(
      reads.filter((r) => r.scheme === s.scheme && r.tier === s.tier).map((r) => r.read),
    );
    tally.stratum(name, picked.rate);
    sample.strata[s.tier] = { rate: picked.rate, customersRead: picked.items.length };
    sample.customersRead += picked.items.length;
    const audience = picked.items.filter((c) => inSegment(c, ctx));
    const states = await contactStates(repo, audience);
    const decisions = audience.map((c) => decide(c, states.get(c.customerId), ctx));
    byStratum.push({ name, decisions });
  }
  // Cross-recipient claims (one message per contact, RM days) in customer order, as pages would.
  const all = byStratum.flatMap((s) => s.decisions).sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
  await allocate(all, allocator, ctx);

  const samples: EstimateResult["samples"] = [];
  const sampleCount = new Map<string, number>();
  const missing = new Map<string, number>();
  const tiers = new Set<string>();
  const reasons = new Set<string>();
  const variantChannel = new Map<string, string>();
  for (const { name, decisions } of byStratum)
    for (const d of decisions) {
      sample.decided++;
      tiers.add(d.tier);
      const add = (cell: string, n = 1) => tally.add(name, cell, n);
      add("audience");
      add(`tier:${d.tier}:audience`);
      if (d.decision === "excluded") {
        const reason = d.reason ?? "unknown";
        reasons.add(reason);
        add(`excluded:${reason}`);
        add(`tier:${d.tier}:excluded`);
        add(`tier:${d.tier}:excludedBy:${reason}`);
        if (reason.startsWith("missing_variable:")) {
          const k = `${d.variant}:${reason.slice(17)}`;
          missing.set(k, (missing.get(k) ?? 0) + 1);
        }
        continue;
      }
      add(d.decision);
      add(`tier:${d.tier}:${d.decision}`);
      if ((d.decision === "eligible" || d.decision === "deferred") && d.variant) {
        add(`variant:${d.variant}:${d.decision}`);
        add(`variant:${d.variant}:recipients`);
        add(`channel:${d.channel ?? ""}`);
        variantChannel.set(d.variant, d.channel ?? "");
        if (d.channel === "sms") {
          add("sms:messages");
          add("sms:parts", d.message?.parts ?? 1);
        }
      }
      const s = sampleOf(d, sampleCount);
      if (s) samples.push(s);
    }

  // Every tier and variant of the campaign is answered, seen in the sample or not (an unseen one is
  // 0 with an interval above it, not absent).
  for (const tier of campaign.segment.tiers) tiers.add(tier);
  for (const v of campaign.variants) if (!variantChannel.has(v.id)) variantChannel.set(v.id, v.channel);
  // A primary tier's cells can only be in its own stratum; a card tier's, in any.
  const primaryScheme = strata.every((s) => s.scheme === campaign.segment.scheme);
  const tierStrata = (tier: string) => (primaryScheme ? [`${campaign.segment.scheme}:${tier}`] : undefined);
  const count = (cell: string, only?: string[]) => tally.count(cell, only);
  const byTier: EstimateResult["byTier"] = {};
  for (const tier of [...tiers].sort()) {
    const only = tierStrata(tier);
    const excludedBy: Record<string, Count> = {};
    for (const reason of tally.keys(`tier:${tier}:excludedBy:`))
      excludedBy[reason] = count(`tier:${tier}:excludedBy:${reason}`, only);
    byTier[tier] = {
      audience: count(`tier:${tier}:audience`, only),
      eligible: count(`tier:${tier}:eligible`, only),
      deferred: count(`tier:${tier}:deferred`, only),
      holdout: count(`tier:${tier}:holdout`, only),
      excluded: count(`tier:${tier}:excluded`, only),
      excludedBy,
    };
  }
  const byVariant: EstimateResult["byVariant"] = {};
  for (const [variant, channel] of [...variantChannel].sort())
    byVariant[variant] = {
      channel,
      recipients: count(`variant:${variant}:recipients`),
      eligible: count(`variant:${variant}:eligible`),
      deferred: count(`variant:${variant}:deferred`),
    };
  const byChannel: Record<string, Count> = {};
  for (const channel of tally.keys("channel:").sort()) byChannel[channel] = count(`channel:${channel}`);
  const excluded: Record<string, Count> = {};
  for (const reason of [...reasons].sort()) excluded[reason] = count(`excluded:${reason}`);
  const messages = count("sms:messages");
  const partsSeen = tally.seen("sms:parts");
  const perMessage = tally.seen("sms:messages") ? partsSeen / tally.seen("sms:messages") : 1;
  const parts = scale(messages, perMessage, Math.round);
  const cost = scale(parts, config.sms.costPerPart, (x) => Math.round(x * 100) / 100);
  const exact = tally.exact;
  return {
    campaignId: campaign.campaignId,
    estimate: true,
    method: exact ? "exact" : "sample",
    confidence: 0.95,
    interval: INTERVAL_METHOD,
    sample,
    audience: count("audience"),
    eligible: count("eligible"),
    deferred: count("deferred"),
    holdout: count("holdout"),
    excluded,
    byTier,
    byVariant,
    byChannel,
    sms: { messages, parts, estimatedCost: cost, currency: "CNY" },
    samples,
    problems: missingProblems(missing),
    notes: exact
      ? ["Every customer of the segment's tiers was in the sample: the counts are exact."]
      : SAMPLE_NOTES,
  };
}

function scale(c: Count, by: number, round: (x: number) => number): Count {
  return { estimate: round(c.estimate * by), low: round(c.low * by), high: round(c.high * by) };
}

function missingProblems(missing: Map<string, number>): string[] {
  return [...missing].map(([k, n]) => {
    const [variant, name] = k.split(":");
    return `variant ${variant}: ${n} recipients have no value for {{${name}}}; give it a default like {{${name}|…}}`;
  });
}

const exactCount = (n: number): Count => ({ estimate: n, low: n, high: n });

/** An exact dry run in the estimate's shape: every interval of zero width. */
export function exactEstimate(p: PreviewResult, notes: string[]): EstimateResult {
  const map = (r: Record<string, number>) =>
    Object.fromEntries(Object.entries(r).map(([k, n]) => [k, exactCount(n)]));
  const byChannel: Record<string, Count> = {};
  for (const v of Object.values(p.byVariant))
    byChannel[v.channel] = exactCount((byChannel[v.channel]?.estimate ?? 0) + v.eligible + v.deferred);
  return {
    campaignId: p.campaignId,
    estimate: true,
    method: "exact",
    confidence: 0.95,
    interval: INTERVAL_METHOD,
    sample: { customersRead: p.audience, decided: p.audience, strata: {} },
    audience: exactCount(p.audience),
    eligible: exactCount(p.eligible),
    deferred: exactCount(p.deferred),
    holdout: exactCount(p.holdout),
    excluded: map(p.excluded),
    byTier: Object.fromEntries(
      Object.entries(p.byTier).map(([tier, t]) => [
        tier,
        {
          audience: exactCount(t.audience),
          eligible: exactCount(t.eligible),
          deferred: exactCount(t.deferred),
          holdout: exactCount(t.holdout),
          excluded: exactCount(t.excluded),
          excludedBy: map(t.excludedBy),
        },
      ]),
    ),
    byVariant: Object.fromEntries(
      Object.entries(p.byVariant).map(([v, r]) => [
        v,
        {
          channel: r.channel,
          recipients: exactCount(r.eligible + r.deferred),
          eligible: exactCount(r.eligible),
          deferred: exactCount(r.deferred),
        },
      ]),
    ),
    byChannel,
    sms: {
      messages: exactCount(p.sms.messages),
      parts: exactCount(p.sms.parts),
      estimatedCost: exactCount(p.sms.estimatedCost),
      currency: "CNY",
    },
    samples: p.samples,
    problems: p.problems,
    notes,
  };
}
