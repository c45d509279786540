import { z } from "zod";
import { formatIssues, type TiercastConfig } from "#platform/config.ts";
import { IsoInstant } from "#platform/dates.ts";
import { CampaignValidationError } from "#platform/errors.ts";
import { itemSizeBytes, Money, unstorableNumbers } from "#platform/storable.ts";
import { compileTemplate, templateVariables } from "./templates.ts";
import { CHANNELS, type Channel, LIFECYCLE, PLAYBOOKS, RISK_LEVELS } from "./vocabulary.ts";

export { CHANNELS, type Channel, LIFECYCLE, PLAYBOOKS, RISK_LEVELS };

/** Playbooks that convert on a later import (the customer's record moved), not on an event. */
export const IMPORT_PLAYBOOKS = new Set<string>(["tier-upgrade", "asset-retention", "card-upgrade"]);

const Names = z.array(z.string().min(1).max(64)).max(100);
/** Tags or products: all of `all`, at least one of `any`, none of `none`. */
const SetFilter = z
  .object({ all: Names.optional(), any: Names.optional(), none: Names.optional() })
  .refine((f) => f.all || f.any || f.none, "give all, any or none");

export const Segment = z.object({
  scheme: z.string().min(1),
  tiers: z.array(z.string().min(1)).min(1, "name at least one tier"),
  dormantDays: z.number().int().min(1).optional(),
  lifecycle: z.array(z.enum(LIFECYCLE)).optional(),
  branches: z.array(z.string().min(1)).optional(),
  rmIds: z.array(z.string().min(1)).optional(),
  /** Care trigger: accounts opened in the last N hours (the new-customer thank-you within 24 h). */
  openedWithinHours: z.number().int().min(1).max(720).optional(),
  /** Care trigger: customers whose last transaction was within this many hours (a thank-you after a deal, 003:19). */
  transactedWithinHours: z.number().int().min(1).max(720).optional(),
  /** Care trigger: customers whose birthday is today in the bank's time zone. */
  birthdayToday: z.boolean().optional(),
  tags: SetFilter.optional(),
  products: SetFilter.optional(),
  /** Whole years from `birthday` at the decision's instant (bank's time zone), both ends inclusive. */
  age: z
    .object({
      min: z.number().int().min(0).max(150).optional(),
      max: z.number().int().min(0).max(150).optional(),
    })
    .refine((a) => a.min !== undefined || a.max !== undefined, "give min or max")
    .refine((a) => a.min === undefined || a.max === undefined || a.min <= a.max, "min must be ≤ max")
    .optional(),
  /** AUM at least (100 − p)% of the next tier's lower bound in the segment's scheme (the top tier has none). */
  nearNextTier: z.object({ withinPercent: z.number().gt(0, "more than 0").max(100) }).optional(),
  /**
   * AUM now against the snapshot `months` months before this month (the AUM history): the change in
   * percent must lie in [minPercent, maxPercent]. Without that month's snapshot a customer is not in.
   */
  aumChange: z
    .object({
      months: z.number().int().min(1).max(23),
      minPercent: z.number().min(-100).optional(),
      maxPercent: z.number().min(-100).optional(),
    })
    .refine((a) => a.minPercent !== undefined || a.maxPercent !== undefined, "give minPercent or maxPercent")
    .refine(
      (a) => a.minPercent === undefined || a.maxPercent === undefined || a.minPercent <= a.maxPercent,
      "minPercent must be ≤ maxPercent",
    )
    .optional(),
  /** Suitability (000:601): a product of risk level Rn suits customers assessed Cn or above; unassessed are not in. */
  riskMatch: z.object({ productRisk: z.enum(RISK_LEVELS) }).optional(),
  /** Large-CD maturity reminders (003:23): a large CD (≥ config largeCdMin) maturing within N days. */
  cdMaturingWithinDays: z.number().int().min(0).max(366).optional(),
});
export type Segment = z.infer<typeof Segment>;

/** Per-campaign conversion goal; it replaces the playbook's own rule. */
export const Goal = z.discriminatedUnion("kind", [
  /** A deposit event of at least `atLeast` CNY. */
  z.object({ kind: z.literal("deposit"), atLeast: Money }),
  /** An import shows the customer in `tier` (or above) of the segment's scheme. */
  z.object({ kind: z.literal("tier"), tier: z.string().min(1) }),
  /** An import shows AUM at least `percent`% above the AUM at launch. */
  z.object({ kind: z.literal("aum-growth"), percent: z.number().gt(0).max(10_000) }),
]);
export type Goal = z.infer<typeof Goal>;

export const Variant = z.object({
  id: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - or _"),
  tiers: z.array(z.string().min(1)).min(1, "name at least one tier"),
  channel: z.enum(CHANNELS),
  /** Used when the primary channel is closed for this customer (no consent, opted out, uncontactable, no RM). */
  fallbackChannel: z.enum(CHANNELS).optional(),
  template: z.string().min(1, "template is empty").max(4000),
  /** Fallback channel's template; defaults to `template`. */
  fallbackTemplate: z.string().min(1).max(4000).optional(),
  subject: z.string().min(1).max(200).optional(),
  /**
   * AWS China: the code under which the variant's SMS template is registered with the domestic vendor
   * (Aliyun `SMS_…`, Tencent's numeric TemplateId); the vendor sends its approved copy with our values.
   */
  smsTemplateCode: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/, "letters, digits or _ (the vendor's template code)")
    .optional(),
  offer: z.string().max(200).optional(),
  /** Landing page of the tracked link `{{link}}`; the redirect only ever goes here. */
  url: z
    .string()
    .max(500)
    .refine((u) => /^https:\/\/[^\s]+$/.test(u), "url must be an https:// address")
    .optional(),
  /** Only customers inactive at least this long take this variant (win-back vs reactivation). */
  minInactiveDays: z.number().int().min(0).optional(),
  /** Win-back: only lost customers (inactive ≥ config lostDays) take it; sets minInactiveDays from the config. */
  winBack: z.boolean().optional(),
  /**
   * A/B split: variants that share a tier (at the same `minInactiveDays`) divide its customers in
   * proportion to their weights, by a hash of campaign and customer. Required on each of them.
   */
  weight: z
    .number()
    .int("a whole number (weights are relative: 50 and 50, or 1 and 1, split evenly)")
    .min(1, "at least 1")
    .max(1_000_000, "at most 1000000")
    .optional(),
});
export type Variant = z.infer<typeof Variant>;

export const SalonEvent = z.object({
  eventId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - or _"),
  name: z.string().max(100).optional(),
  venue: z.string().max(200).optional(),
  startsAt: IsoInstant,
  capacity: z.number().int().min(1),
  waves: z.array(z.object({ tiers: z.array(z.string().min(1)).min(1), at: IsoInstant })).default([]),
  reminderHoursBefore: z.number().min(1).max(168).default(24),
  /** False: no waitlist, a yes once the seats are taken is answered "full" (default: a waitlist). */
  waitlist: z.boolean().optional(),
  /**
   * AWS China: the vendor's template code of this invitation's RSVP reminder SMS (its registered text is
   * what goes out); when omitted, the bank's `salon.templateCodes.reminder`.
   */
  reminderSmsTemplateCode: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/, "letters, digits or _ (the vendor's template code)")
    .optional(),
});
export type SalonEvent = z.infer<typeof SalonEvent>;

export const Campaign = z.object({
  campaignId: z
    .string({ error: "campaignId is required" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "1-64 letters, digits, - or _"),
  name: z.string().min(1).max(200).optional(),
  playbook: z.enum(PLAYBOOKS),
  segment: Segment,
  variants: z.array(Variant).min(1, "at least one variant"),
  holdoutPercent: z.number().min(0).max(50).optional(),
  attributionDays: z.number().int().min(1).max(365).optional(),
  event: SalonEvent.optional(),
  referral: z.object({ minDeposit: Money, reward: z.string().min(1).max(200) }).optional(),
  goal: Goal.optional(),
});
export type Campaign = z.infer<typeof Campaign>;

/** A campaign with every default from the config applied: what the engine runs. */
export type ResolvedCampaign = Campaign & { holdoutPercent: number; attributionDays: number };

const PLAYBOOK_VARIABLES: Record<Campaign["playbook"], string[]> = {
  "dormant-reactivation": [],
  "salon-invite": ["eventName", "eventTime", "venue"],
  "referral-drive": ["referralCode", "reward", "minDeposit"],
  "key-maintenance": ["rmId"],
  "tier-upgrade": ["nextTier", "gap"],
  "asset-retention": [],
  "card-upgrade": ["eligibleCard"],
  "cd-maturity": ["cdMaturesAt", "cdAmount"],
};
const COMMON_VARIABLES = ["name", "tier", "branchId", "offer", "campaignName", "link"];

export function allowedVariables(playbook: Campaign["playbook"], channel: Channel): string[] {
  return [
    ...COMMON_VARIABLES,
    ...PLAYBOOK_VARIABLES[playbook],
    ...(channel === "email" ? ["unsubscribeUrl"] : []),
  ];
}

/**
 * Validates a campaign file against the schema and the bank's config; every problem is reported,
 * field by field, in one error. Defaults from the config fill what is left out.
 */
export function parseCampaign(raw: unknown, config: TiercastConfig): ResolvedCampaign {
  const parsed = Campaign.safeParse(raw);
  if (parsed.success) {
    const problems = [
      ...storeProblems(parsed.data),
      ...semanticProblems(withWinBack(parsed.data, config), config),
    ];
    if (problems.length > 0) throw new CampaignValidationError(problems);
    return withDefaults(parsed.data, config);
  }
  // Keep going past shape errors so the author sees every problem at once, not one per attempt.
  const problems = formatIssues(parsed.error.issues);
  const salvaged = salvage(raw, parsed.error.issues);
  if (salvaged) {
    for (const problem of semanticProblems(withWinBack(salvaged, config), config))
      if (!problems.includes(problem)) problems.push(problem);
  }
  throw new CampaignValidationError(problems);
}

/** The campaign is stored as one item: it must fit (with its record's fields) and hold only storable numbers. */
const CAMPAIGN_LIMIT_BYTES = 300 * 1024;
function storeProblems(campaign: Campaign): string[] {
  const problems = unstorableNumbers(campaign);
  const size = itemSizeBytes(campaign);
  if (size > CAMPAIGN_LIMIT_BYTES)
    problems.push(`campaign: ${Math.ceil(size / 1024)} KB is too large to store (at most 300 KB)`);
  return problems;
}

/** The valid parts of an invalid campaign: fields and variants with shape errors are dropped. */
function salvage(raw: unknown, issues: readonly { path: PropertyKey[] }[]): Campaign | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const copy: Record<string, unknown> = structuredClone(raw as Record<string, unknown>);
  const badVariants = new Set<number>();
  for (const issue of issues) {
    const [top, index] = issue.path;
    if (top === "variants" && typeof index === "number") badVariants.add(index);
    else if (typeof top === "string") delete copy[top];
  }
  if (Array.isArray(copy.variants)) copy.variants = copy.variants.filter((_, i) => !badVariants.has(i));
  const loose = Campaign.partial().safeParse(copy);
  if (!loose.success || !loose.data.segment) return undefined;
  return {
    playbook: "dormant-reactivation",
    campaignId: "x",
    variants: [],
    ...loose.data,
    segment: loose.data.segment,
  };
}

/**
 * The variants that compete for one tier's customers: those naming the tier with the same
 * `minInactiveDays` (unset counts as 0). A customer takes the group with the highest threshold they
 * meet, then a variant of that group by weight. Indices are into `variants`, in file order.
 */
export interface SplitGroup {
  tier: string;
  minInactiveDays: number;
  variants: number[];
}

export function splitGroups(variants: readonly Variant[]): SplitGroup[] {
  const groups = new Map<string, SplitGroup>();
  variants.forEach((variant, i) => {
    const minInactiveDays = variant.minInactiveDays ?? 0;
    for (const tier of new Set(variant.tiers)) {
      const k = `${tier}\u0000${minInactiveDays}`;
      const group = groups.get(k) ?? { tier, minInactiveDays, variants: [] };
      group.variants.push(i);
      groups.set(k, group);
    }
  });
  return [...groups.values()];
}

const andList = (items: string[]) =>
  items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : items.join("");
const quoteList = (names: string[]) => andList(names.map((n) => `"${n}"`));

/**
 * Variants sharing a tier split it by weight; without a weight on each of them the split is unknown,
 * so the campaign is refused (a variant is never silently dropped).
 */
function splitProblems(variants: readonly Variant[]): string[] {
  const unweighted = new Map<string, { at?: number; ids: string[]; others: string[]; tiers: string[] }>();
  for (const group of splitGroups(variants)) {
    if (group.variants.length < 2) continue;
    const ids = group.variants.map((i) => variants[i]!.id);
    const where = `"${group.tier}"${group.minInactiveDays ? ` (minInactiveDays ${group.minInactiveDays})` : ""}`;
    const missing = group.variants.filter((i) => variants[i]!.weight === undefined);
    if (missing.length === group.variants.length) {
      const k = `all#${ids.join("#")}`;
      const entry = unweighted.get(k) ?? { ids, others: [], tiers: [] };
      entry.tiers.push(where);
      unweighted.set(k, entry);
      continue;
    }
    for (const i of missing) {
      const others = ids.filter((id) => id !== variants[i]!.id);
      const k = `${i}#${others.join("#")}`;
      const entry = unweighted.get(k) ?? { at: i, ids: [variants[i]!.id], others, tiers: [] };
      entry.tiers.push(where);
      unweighted.set(k, entry);
    }
  }
  return [...unweighted.values()].map((e) => {
    const tiers = `${e.tiers.length > 1 ? "tiers" : "tier"} ${andList(e.tiers)}`;
    return e.at === undefined
      ? `variants: ${quoteList(e.ids)} share ${tiers} with no weight: give each of them a weight (e.g. "weight": 50) to split the tier between them, or give them different tiers`
      : `variants.${e.at}.weight: "${e.ids[0]}" shares ${tiers} with ${quoteList(e.others)}, ${e.others.length > 1 ? "which have weights" : "which has one"}: give it a weight too, or give them different tiers`;
  });
}

/** A win-back variant reaches lost customers: its threshold is the config's lostDays. */
function withWinBack<T extends Pick<Campaign, "variants">>(campaign: T, config: TiercastConfig): T {
  return {
    ...campaign,
    variants: campaign.variants.map((v) =>
      v.winBack && v.minInactiveDays === undefined ? { ...v, minInactiveDays: config.lostDays } : v,
    ),
  };
}

function withDefaults(campaign: Campaign, config: TiercastConfig): ResolvedCampaign {
  return {
    ...withWinBack(campaign, config),
    holdoutPercent: campaign.holdoutPercent ?? config.holdoutPercent,
    attributionDays: campaign.attributionDays ?? config.attributionDays,
    segment: {
      ...campaign.segment,
      dormantDays:
        campaign.segment.dormantDays ??
        (campaign.playbook === "dormant-reactivation" ? config.dormantDays : undefined),
    },
  };
}

function semanticProblems(campaign: Campaign, config: TiercastConfig): string[] {
  const problems: string[] = [];
  const scheme = config.tierSchemes[campaign.segment.scheme];
  if (!scheme)
    problems.push(
      `segment.scheme: unknown scheme "${campaign.segment.scheme}" (known: ${Object.keys(config.tierSchemes).join(", ")})`,
    );
  const known = new Set(scheme?.tiers.map((t) => t.name) ?? []);
  campaign.segment.tiers.forEach((tier, i) => {
    if (scheme && !known.has(tier))
      problems.push(`segment.tiers.${i}: unknown tier "${tier}" in scheme ${campaign.segment.scheme}`);
  });
  const segmentTiers = new Set(campaign.segment.tiers);
  const covered = new Set<string>();
  campaign.variants.forEach((variant, i) => {
    const at = `variants.${i}`;
    if (campaign.variants.findIndex((v) => v.id === variant.id) !== i)
      problems.push(`${at}.id: duplicate variant id "${variant.id}"`);
    variant.tiers.forEach((tier, j) => {
      if (!segmentTiers.has(tier)) problems.push(`${at}.tiers.${j}: tier "${tier}" is not in segment.tiers`);
      covered.add(tier);
    });
    if (variant.fallbackChannel === variant.channel) problems.push(`${at}.fallbackChannel: same as channel`);
    if (
      variant.fallbackChannel &&
      !variant.fallbackTemplate &&
      (variant.channel === "email") !== (variant.fallbackChannel === "email")
    )
      problems.push(
        `${at}.fallbackTemplate: required when falling back from ${variant.channel} to ${variant.fallbackChannel}`,
      );
    const channels: [Channel, string, string][] = [[variant.channel, variant.template, "template"]];
    if (variant.fallbackChannel)
      channels.push([
        variant.fallbackChannel,
        variant.fallbackTemplate ?? variant.template,
        variant.fallbackTemplate ? "fallbackTemplate" : "template",
      ]);
    const vendor = config.sms.vendor;
    if (vendor && !variant.smsTemplateCode && channels.some(([channel]) => channel === "sms"))
      problems.push(
        `${at}.smsTemplateCode: required: SMS goes through ${vendor === "aliyun" ? "Alibaba Cloud SMS" : "Tencent Cloud SMS"}, which sends only registered templates (register this variant's text with the vendor and put its template code here)`,
      );
    for (const [channel, template, field] of channels) {
      if (channel === "email" && !variant.subject)
        problems.push(`${at}.subject: required for the email channel`);
      const allowed = new Set(allowedVariables(campaign.playbook, channel));
      const compiled = compileTemplate(template);
      if ("error" in compiled) problems.push(`${at}.${field}: ${compiled.error}`);
      for (const name of templateVariables(template)) {
        if (name === "link" && !variant.url)
          problems.push(
            `${at}.${field}: {{link}} needs the variant's url (the landing page it redirects to)`,
          );
        if (!allowed.has(name))
          problems.push(
            `${at}.${field}: unknown variable {{${name}}} for ${campaign.playbook}/${channel} (allowed: ${[...allowed].join(", ")})`,
          );
      }
      if (variant.subject) {
        for (const name of templateVariables(variant.subject))
          if (!allowed.has(name)) problems.push(`${at}.subject: unknown variable {{${name}}}`);
      }
    }
  });
  problems.push(...splitProblems(campaign.variants));
  for (const tier of campaign.segment.tiers) {
    if (!covered.has(tier)) problems.push(`segment.tiers: tier "${tier}" has no variant`);
  }
  if (campaign.playbook === "salon-invite") {
    if (!campaign.event) problems.push("event: required for the salon-invite playbook");
    const vendor = config.sms.vendor;
    if (
      vendor &&
      campaign.event &&
      !campaign.event.reminderSmsTemplateCode &&
      !config.salon.templateCodes?.reminder
    )
      problems.push(
        `event.reminderSmsTemplateCode: required: the RSVP reminder is an SMS through ${vendor === "aliyun" ? "Alibaba Cloud SMS" : "Tencent Cloud SMS"}, which sends only registered templates (register the reminder's text with the vendor and put its template code here, or the bank's salon.templateCodes.reminder in the config)`,
      );
    campaign.event?.waves.forEach((wave, i) => {
      wave.tiers.forEach((tier, j) => {
        if (!segmentTiers.has(tier))
          problems.push(`event.waves.${i}.tiers.${j}: tier "${tier}" is not in segment.tiers`);
      });
      if (campaign.event && Date.parse(wave.at) >= Date.parse(campaign.event.startsAt))
        problems.push(`event.waves.${i}.at: must be before the event starts`);
    });
  }
  problems.push(...growthProblems(campaign, config));
  if (campaign.playbook === "referral-drive" && !campaign.referral)
    problems.push("referral: required for the referral-drive playbook");
  return problems;
}

/** The growth playbooks' segments and goals must be able to find and convert someone. */
function growthProblems(campaign: Campaign, config: TiercastConfig): string[] {
  const problems: string[] = [];
  const { segment, playbook, goal } = campaign;
  const scheme = config.tierSchemes[segment.scheme];
  campaign.variants.forEach((v, i) => {
    if (v.winBack && v.minInactiveDays !== undefined && v.minInactiveDays !== config.lostDays)
      problems.push(
        `variants.${i}.winBack: a win-back variant takes minInactiveDays from lostDays (${config.lostDays}); drop one of them`,
      );
  });
  if (scheme && segment.nearNextTier) {
    const top = scheme.tiers.at(-1)!.name;
    if (segment.tiers.length === 1 && segment.tiers[0] === top)
      problems.push(
        `segment.nearNextTier: "${top}" is the top tier of ${segment.scheme}: it has no next tier`,
      );
  }
  if (playbook === "tier-upgrade" && scheme && segment.tiers.every((t) => t === scheme.tiers.at(-1)?.name))
    problems.push(
      "segment.tiers: tier-upgrade needs a tier below the top one (there is nothing to upgrade to)",
    );
  if (playbook === "card-upgrade" && segment.scheme !== "card")
    problems.push('segment.scheme: card-upgrade segments by the "card" scheme (the card held)');
  if (playbook === "asset-retention" && !segment.aumChange)
    problems.push(
      'segment.aumChange: required for asset-retention (whose AUM fell, e.g. {"months": 3, "maxPercent": -10}); it converts when AUM is back at that month\'s level',
    );
  if (playbook === "cd-maturity" && segment.cdMaturingWithinDays === undefined)
    problems.push("segment.cdMaturingWithinDays: required for the cd-maturity playbook");
  if (goal?.kind === "tier" && scheme && !scheme.tiers.some((t) => t.name === goal.tier))
    problems.push(`goal.tier: unknown tier "${goal.tier}" in scheme ${segment.scheme}`);
  return problems;
}
