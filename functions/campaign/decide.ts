import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  addMonths,
  ageOn,
  type Customer,
  daysInactive,
  isDormant,
  type LifecycleThresholds,
  lifecycleStage,
  lifecycleThresholds,
  tierInScheme,
  withinHours,
} from "#functions/customers/record.ts";
import type { TiercastConfig, TierDef } from "#platform/config.ts";
import { unitDraw } from "#platform/hash.ts";
import {
  type Channel,
  IMPORT_PLAYBOOKS,
  type ResolvedCampaign,
  splitGroups,
  type Variant,
} from "./schema.ts";
import {
  type CompiledTemplate,
  compileTemplate,
  escapeHtml,
  render,
  smsSegments,
  stripControl,
  templateValues,
} from "./templates.ts";
import { addDaysLocal, inWindow, localDay, nextWindowStart } from "./time.ts";

/** Per-customer state kept apart from the profile: opt-outs and recent marketing sends (for caps). */
export interface ContactState {
  optOut?: Partial<Record<Channel | "all", string>>;
  recent?: { at: string; ch: Channel; c: string; pb?: string }[];
  /** An RM found this phone number wrong (HMAC of the number, so a new number in an import clears it). */
  wrongPhone?: { h: string; at: string };
}

export type DecisionKind = "eligible" | "deferred" | "holdout" | "excluded";

export interface RenderedMessage {
  to: string;
  text?: string;
  subject?: string;
  html?: string;
  parts?: number;
  listUnsubscribe?: string;
  /** SMS through a domestic vendor (AWS China): the variant's registered template and its variables' values, in order of appearance. */
  template?: { code: string; params: { name: string; value: string }[] };
}

export interface Decision {
  customerId: string;
  shard: number;
  tier: string;
  decision: DecisionKind;
  reason?: string;
  channel?: Channel;
  variant?: string;
  /** When a deferred send becomes due (next window, wave time, or RM's next free day). */
  dueAt?: string;
  /** Hashed phone/email/RM so one contact is messaged once per campaign. */
  contactKey?: string;
  rmId?: string;
  branchId?: string;
  message?: RenderedMessage;
  referralCode?: string;
  /** Growth playbooks and goals: the AUM at the decision, and the AUM an import must show to convert. */
  aum?: number;
  goalAum?: number;
}

interface PreparedVariant {
  variant: Variant;
  primary: CompiledChannel;
  fallback?: CompiledChannel;
}
/** The variants competing for one tier's customers at one inactivity threshold, with cumulative weights. */
interface PreparedSplit {
  minInactiveDays: number;
  variants: PreparedVariant[];
  /** Running sums of the variants' weights, in file order; the last is the total. */
  cumulative: number[];
}
interface CompiledChannel {
  channel: Channel;
  body: CompiledTemplate;
  subject?: CompiledTemplate;
}

export interface DecideContext {
  campaign: ResolvedCampaign;
  config: TiercastConfig;
  now: Date;
  secret: string;
  variants: PreparedVariant[];
  /** Per tier: its split groups, highest `minInactiveDays` first (the most specific variant wins). */
  splits: Map<string, PreparedSplit[]>;
  /** Wall-clock facts computed once per page. */
  nowInWindow: boolean;
  nextWindow: Date;
  waveAt: Map<string, string>;
  /** The decision's local day (YYYY-MM-DD) and month in the bank's time zone. */
  today: string;
  month: string;
  lifecycle: LifecycleThresholds;
  /** The segment scheme's tiers, lowest first (for nearNextTier and the tier-upgrade variables). */
  schemeTiers: TierDef[];
}

export function prepare(
  campaign: ResolvedCampaign,
  config: TiercastConfig,
  now: Date,
  secret: string,
): DecideContext {
  const compile = (t: string) => {
    const c = compileTemplate(t);
    if ("error" in c) throw new Error(c.error);
    return c;
  };
  const waveAt = new Map<string, string>();
  for (const wave of campaign.event?.waves ?? [])
    for (const tier of wave.tiers) if (!waveAt.has(tier)) waveAt.set(tier, wave.at);
  const variants: PreparedVariant[] = campaign.variants.map((variant) => ({
    variant,
    primary: {
      channel: variant.channel,
      body: compile(variant.template),
      subject: variant.subject ? compile(variant.subject) : undefined,
    },
    fallback: variant.fallbackChannel
      ? {
          channel: variant.fallbackChannel,
          body: compile(variant.fallbackTemplate ?? variant.template),
          subject: variant.subject ? compile(variant.subject) : undefined,
        }
      : undefined,
  }));
  const splits = new Map<string, PreparedSplit[]>();
  for (const group of splitGroups(campaign.variants)) {
    let sum = 0;
    // Validation requires a weight on every variant of a group of two or more; a lone variant needs none.
    const cumulative = group.variants.map((i) => (sum += campaign.variants[i]!.weight ?? 1));
    const list = splits.get(group.tier) ?? [];
    list.push({
      minInactiveDays: group.minInactiveDays,
      variants: group.variants.map((i) => variants[i]!),
      cumulative,
    });
    splits.set(group.tier, list);
  }
  for (const list of splits.values()) list.sort((a, b) => b.minInactiveDays - a.minInactiveDays);
  return {
    campaign,
    config,
    now,
    secret,
    variants,
    splits,
    nowInWindow: inWindow(now, config.quietHours),
    nextWindow: nextWindowStart(now, config.quietHours),
    waveAt,
    today: localDay(now, config.quietHours.timeZone),
    month: localDay(now, config.quietHours.timeZone).slice(0, 7),
    lifecycle: lifecycleThresholds(config),
    schemeTiers: config.tierSchemes[campaign.segment.scheme]?.tiers ?? [],
  };
}

const fen = (amount: number) => Math.round(amount * 100);

/** The tier above the customer's in the segment's scheme, or undefined at the top. */
export function nextTierOf(customer: Customer, ctx: DecideContext): TierDef | undefined {
  const tier = tierInScheme(customer, ctx.campaign.segment.scheme);
  const i = ctx.schemeTiers.findIndex((t) => t.name === tier);
  return i < 0 ? undefined : ctx.schemeTiers[i + 1];
}

/** AUM at least (100 − p)% of the next tier's lower bound, compared exactly in fen. */
export function nearNextTier(customer: Customer, ctx: DecideContext, withinPercent: number): boolean {
  const next = nextTierOf(customer, ctx);
  if (!next) return false;
  return fen(customer.aum) * 100 >= (100 - withinPercent) * fen(next.min);
}

/** AUM change in percent from the snapshot `months` before this month, or undefined without it. */
export function aumChangePercent(customer: Customer, month: string, months: number): number | undefined {
  const then = customer.aumHistory?.[addMonths(month, -months)];
  if (then === undefined) return undefined;
  if (then === 0) return customer.aum > 0 ? Number.POSITIVE_INFINITY : 0;
  return ((fen(customer.aum) - fen(then)) / fen(then)) * 100;
}

const RISK_RANK = { C1: 1, C2: 2, C3: 3, C4: 4, C5: 5 } as const;

function matchesSet(
  held: readonly string[] | undefined,
  f: { all?: string[]; any?: string[]; none?: string[] },
) {
  const have = new Set(held ?? []);
  if (f.all && !f.all.every((x) => have.has(x))) return false;
  if (f.any && !f.any.some((x) => have.has(x))) return false;
  if (f.none?.some((x) => have.has(x))) return false;
  return true;
}

/** The growth filters of a segment (tags, products, age, nearNextTier, AUM change, risk, CD maturity). */
function inGrowthSegment(customer: Customer, ctx: DecideContext): boolean {
  const segment = ctx.campaign.segment;
  if (segment.tags && !matchesSet(customer.tags, segment.tags)) return false;
  if (segment.products && !matchesSet(customer.products, segment.products)) return false;
  if (segment.age) {
    const age = ageOn(customer.birthday, ctx.today);
    if (age === undefined) return false;
    if (segment.age.min !== undefined && age < segment.age.min) return false;
    if (segment.age.max !== undefined && age > segment.age.max) return false;
  }
  if (segment.nearNextTier && !nearNextTier(customer, ctx, segment.nearNextTier.withinPercent)) return false;
  if (segment.aumChange) {
    const change = aumChangePercent(customer, ctx.month, segment.aumChange.months);
    if (change === undefined) return false;
    // A hair of float slack so −10.00% computed from fen is not judged −10.0000001%.
    const eps = 1e-9;
    if (segment.aumChange.minPercent !== undefined && change < segment.aumChange.minPercent - eps)
      return false;
    if (segment.aumChange.maxPercent !== undefined && change > segment.aumChange.maxPercent + eps)
      return false;
  }
  if (segment.riskMatch) {
    const level = Number(segment.riskMatch.productRisk.slice(1));
    if (!customer.riskTolerance || RISK_RANK[customer.riskTolerance] < level) return false;
  }
  if (segment.cdMaturingWithinDays !== undefined) {
    if (!customer.cdMaturesAt || customer.cdAmount === undefined) return false;
    if (fen(customer.cdAmount) < fen(ctx.config.largeCdMin)) return false;
    const days =
      (Date.parse(`${customer.cdMaturesAt}T00:00:00Z`) - Date.parse(`${ctx.today}T00:00:00Z`)) / 86_400_000;
    if (days < 0 || days > segment.cdMaturingWithinDays) return false;
  }
  return true;
}

/** The AUM an import must show for the campaign's AUM-based conversion, when it has one. */
function goalAumOf(customer: Customer, ctx: DecideContext): number | undefined {
  const { goal, playbook, segment } = ctx.campaign;
  if (goal?.kind === "aum-growth") return Math.round(fen(customer.aum) * (1 + goal.percent / 100)) / 100;
  if (!goal && playbook === "asset-retention" && segment.aumChange)
    return customer.aumHistory?.[addMonths(ctx.month, -segment.aumChange.months)];
  return undefined;
}

/** Segment filters decide who is in the audience at all (not an exclusion). */
export function inSegment(customer: Customer, ctx: DecideContext): boolean {
  const segment = ctx.campaign.segment;
  const tier = tierInScheme(customer, segment.scheme);
  if (tier === undefined || !segment.tiers.includes(tier)) return false;
  if (segment.dormantDays !== undefined && !isDormant(customer, ctx.now, segment.dormantDays)) return false;
  if (segment.lifecycle && !segment.lifecycle.includes(lifecycleStage(customer, ctx.now, ctx.lifecycle)))
    return false;
  if (segment.branches && !segment.branches.includes(customer.branchId ?? "")) return false;
  if (segment.rmIds && !segment.rmIds.includes(customer.rmId ?? "")) return false;
  if (
    segment.openedWithinHours !== undefined &&
    !withinHours(customer.openedAt, ctx.now, segment.openedWithinHours)
  )
    return false;
  if (
    segment.transactedWithinHours !== undefined &&
    !withinHours(customer.lastTransactionAt, ctx.now, segment.transactedWithinHours)
  )
    return false;
  if (segment.birthdayToday && customer.birthday?.slice(5) !== ctx.today.slice(5)) return false;
  return inGrowthSegment(customer, ctx);
}

export const MARKETING_CHANNELS = new Set<Channel>(["sms", "email"]);

/** Channel-independent rules, in order; the first that matches is the reason. */
const customerRules: { reason: string; applies: (c: Customer, ctx: DecideContext) => boolean }[] = [
  { reason: "risk_flagged", applies: (c, ctx) => c.riskFlag && ctx.config.riskFlagExcluded },
];

/** Rules that close one channel for one customer, in order. */
const channelRules: {
  reason: string;
  applies: (c: Customer, s: ContactState | undefined, ch: Channel, ctx: DecideContext) => boolean;
}[] = [
  { reason: "private_banking", applies: (c, _s, ch, ctx) => ch !== "rm-task" && isRmOnly(c, ctx) },
  {
    reason: "opted_out",
    applies: (_c, s, ch) => ch !== "rm-task" && Boolean(s?.optOut?.[ch] ?? s?.optOut?.all),
  },
  {
    reason: "no_consent",
    applies: (c, _s, ch) => (ch === "sms" ? !c.consentSms : ch === "email" ? !c.consentEmail : false),
  },
  {
    reason: "uncontactable",
    applies: (c, _s, ch) => (ch === "sms" ? !c.phone : ch === "email" ? !c.email : !c.rmId),
  },
  {
    // SMS and RM phone tasks both use the number an RM reported wrong (000:642 information governance).
    reason: "wrong_number",
    applies: (c, s, ch, ctx) =>
      (ch === "sms" || ch === "rm-task") &&
      Boolean(s?.wrongPhone && c.phone && s.wrongPhone.h === phoneMark(ctx.secret, c.phone)),
  },
];

/** The HMAC the contact owner keeps of a number reported wrong (no phone number sits in the item). */
export function phoneMark(secret: string, phone: string): string {
  return token(secret, `wrong-phone#${phone}`, 16);
}

function isRmOnly(c: Customer, ctx: DecideContext): boolean {
  const scheme = ctx.config.tierSchemes[ctx.campaign.segment.scheme];
  const tier = scheme?.tiers.find((t) => t.name === tierInScheme(c, ctx.campaign.segment.scheme));
  if (tier?.rmOnly) return true;
  // Private banking customers are never bulk-messaged, whatever scheme a campaign segments by.
  const primary = ctx.config.tierSchemes[c.kind]?.tiers.find((t) => t.name === c.tier);
  return Boolean(primary?.rmOnly);
}

/** The first rule that closes this channel for this customer now, or undefined (used again at send time). */
export function closedReason(
  c: Customer,
  s: ContactState | undefined,
  channel: Channel,
  ctx: DecideContext,
): string | undefined {
  return (
    customerRules.find((rule) => rule.applies(c, ctx))?.reason ??
    channelRules.find((rule) => rule.applies(c, s, channel, ctx))?.reason
  );
}

/** DOMAIN.md caps: ≤ perChannelPerDay on this channel today, ≤ perRollingWindow across channels. */
export function capReached(
  state: ContactState | undefined,
  channel: Channel,
  sendAt: Date,
  ctx: DecideContext,
  /** This campaign's own entries, which never count against it (a retry finds its own slot). */
  own: (r: NonNullable<ContactState["recent"]>[number]) => boolean = (r) => r.c === ctx.campaign.campaignId,
): boolean {
  if (!MARKETING_CHANNELS.has(channel) || !state?.recent?.length) return false;
  const caps = ctx.config.caps;
  const day = localDay(sendAt, ctx.config.quietHours.timeZone);
  const from = sendAt.getTime() - caps.rollingDays * 86_400_000;
  let sameDay = 0;
  let window = 0;
  for (const r of state.recent) {
    if (!MARKETING_CHANNELS.has(r.ch) || own(r)) continue;
    const t = Date.parse(r.at);
    if (t > from) window++;
    if (r.ch === channel && localDay(new Date(t), ctx.config.quietHours.timeZone) === day) sameDay++;
  }
  return sameDay >= caps.perChannelPerDay || window >= caps.perRollingWindow;
}

/**
 * The variant of a tier's customer: the split group with the highest `minInactiveDays` they meet
 * (win-back before reactivation), then a variant of it in proportion to the weights, by a uniform
 * draw fixed by (campaignId, customerId, "variant"): a relaunch puts everyone in the same variant,
 * and the draw is independent of the holdout's (campaignId, customerId).
 */
export function chooseVariant(
  ctx: DecideContext,
  tier: string,
  customerId: string,
  inactiveDays: number,
): PreparedVariant | undefined {
  // A transaction dated after `now` (a preview or launch `--at` in the past) is zero days inactive,
  // so it still meets a variant without `minInactiveDays` (the unset case is 0).
  const days = Math.max(0, inactiveDays);
  const group = ctx.splits.get(tier)?.find((g) => days >= g.minInactiveDays);
  if (!group) return undefined;
  if (group.variants.length === 1) return group.variants[0];
  const total = group.cumulative.at(-1)!;
  const point = unitDraw(ctx.campaign.campaignId, customerId, "variant") * total;
  const index = group.cumulative.findIndex((upTo) => point < upTo);
  return group.variants[index]!;
}

export function isHoldout(campaignId: string, customerId: string, percent: number): boolean {
  return percent > 0 && unitDraw(campaignId, customerId) < percent / 100;
}

function token(secret: string, text: string, length: number): string {
  return createHmac("sha256", secret).update(text).digest("base64url").slice(0, length);
}

/** One unguessable, stable code per referrer per drive (HMAC of campaign and customer). */
export function referralCode(secret: string, campaignId: string, customerId: string): string {
  const raw = createHmac("sha256", secret).update(`ref#${campaignId}#${customerId}`).digest();
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  let code = "";
  for (let i = 0; i < 8; i++) code += alphabet[raw[i]! % alphabet.length];
  return code;
}

export function unsubscribeToken(secret: string, campaignId: string, customerId: string): string {
  return token(secret, `unsub#${campaignId}#${customerId}`, 22);
}

const trackingKey = (secret: string) => createHash("sha256").update(`track-enc#${secret}`).digest();

/**
 * The per-recipient token of tracked links and the open pixel: the campaign and customer ids,
 * encrypted (AES-256-CTR with the MAC as its IV, so the same recipient always gets the same token and
 * the ids never appear in a URL), then the MAC, so nobody can forge or alter a click or an open.
 */
export function trackingToken(secret: string, campaignId: string, customerId: string): string {
  const ids = `${campaignId}\n${customerId}`;
  const mac = createHmac("sha256", secret).update(`track#${ids}`).digest().subarray(0, 12);
  const cipher = createCipheriv("aes-256-ctr", trackingKey(secret), Buffer.concat([mac, Buffer.alloc(4)]));
  const enc = Buffer.concat([cipher.update(ids, "utf8"), cipher.final()]);
  return `${enc.toString("base64url")}.${mac.toString("base64url")}`;
}

export function verifyTrackingToken(
  secret: string,
  value: string,
): { campaignId: string; customerId: string } | undefined {
  const [enc, macText] = value.split(".");
  if (!enc || !macText || !/^[A-Za-z0-9_-]{16}$/.test(macText) || enc.length > 400) return undefined;
  const mac = Buffer.from(macText, "base64url");
  const decipher = createDecipheriv(
    "aes-256-ctr",
    trackingKey(secret),
    Buffer.concat([mac, Buffer.alloc(4)]),
  );
  const ids = Buffer.concat([decipher.update(Buffer.from(enc, "base64url")), decipher.final()]).toString(
    "utf8",
  );
  const [campaignId, customerId] = ids.split("\n");
  if (!campaignId || !customerId) return undefined;
  const a = Buffer.from(value);
  const b = Buffer.from(trackingToken(secret, campaignId, customerId));
  return a.length === b.length && timingSafeEqual(a, b) ? { campaignId, customerId } : undefined;
}

function contactKeyFor(c: Customer, channel: Channel, secret: string): string | undefined {
  const contact = channel === "sms" ? c.phone : channel === "email" ? c.email : undefined;
  // Hashed so the key can be stored without holding the phone/email in another place.
  return contact ? token(secret, `contact#${channel}#${contact}`, 16) : undefined;
}

function variables(c: Customer, ctx: DecideContext, variant: Variant): Record<string, string | undefined> {
  const { campaign } = ctx;
  const event = campaign.event;
  return {
    name: c.name,
    tier: tierInScheme(c, campaign.segment.scheme),
    branchId: c.branchId,
    rmId: c.rmId,
    offer: variant.offer,
    campaignName: campaign.name,
    eventName: event?.name,
    eventTime: event ? formatEventTime(event.startsAt, ctx.config.quietHours.timeZone) : undefined,
    venue: event?.venue,
    reward: campaign.referral?.reward,
    minDeposit: campaign.referral ? String(campaign.referral.minDeposit) : undefined,
    link: variant.url
      ? `${ctx.config.tracking.baseUrl}/t/c/${trackingToken(ctx.secret, campaign.campaignId, c.customerId)}`
      : undefined,
    nextTier: nextTierOf(c, ctx)?.name,
    gap: (() => {
      const next = nextTierOf(c, ctx);
      return next ? ((fen(next.min) - fen(c.aum)) / 100).toFixed(2) : undefined;
    })(),
    eligibleCard: c.cardEligible,
    cdMaturesAt: c.cdMaturesAt,
    cdAmount: c.cdAmount === undefined ? undefined : String(c.cdAmount),
    referralCode:
      campaign.playbook === "referral-drive"
        ? referralCode(ctx.secret, campaign.campaignId, c.customerId)
        : undefined,
  };
}

function formatEventTime(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleString("zh-CN", {
    timeZone,
    month: "long",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function renderMessage(
  c: Customer,
  compiled: CompiledChannel,
  ctx: DecideContext,
  variant: Variant,
): RenderedMessage | { missing: string } {
  const vars = variables(c, ctx, variant);
  const sms = ctx.config.sms;
  if (compiled.channel === "sms") {
    // Only the values the template uses are cleaned, as they are substituted.
    const body = render(compiled.body, vars, stripControl);
    if (typeof body !== "string") return body;
    // MIIT Order 31: every marketing SMS carries the refusal instruction.
    const text = `${sms.signature}${body}${body.includes(sms.optOutText) ? "" : ` ${sms.optOutText}`}`;
    const code = variant.smsTemplateCode;
    return {
      to: c.phone!,
      text,
      parts: smsSegments(text).parts,
      ...(code ? { template: { code, params: templateValues(compiled.body, vars, stripControl) } } : {}),
    };
  }
  if (compiled.channel === "email") {
    const unsubscribeUrl = `${ctx.config.email.unsubscribeBaseUrl}?c=${encodeURIComponent(ctx.campaign.campaignId)}&r=${encodeURIComponent(c.customerId)}&t=${unsubscribeToken(ctx.secret, ctx.campaign.campaignId, c.customerId)}`;
    vars.unsubscribeUrl = unsubscribeUrl;
    const html = render(compiled.body, vars, escapeHtml);
    if (typeof html !== "string") return html;
    const subject = compiled.subject ? render(compiled.subject, vars, stripControl) : "";
    if (typeof subject !== "string") return subject;
    const footer = html.includes(escapeHtml(unsubscribeUrl))
      ? ""
      : `<p style="font-size:12px;color:#888"><a href="${escapeHtml(unsubscribeUrl)}">退订 Unsubscribe</a></p>`;
    // The open pixel: one per recipient, signed like the links.
    const pixel = `<img src="${ctx.config.tracking.baseUrl}/t/o/${trackingToken(ctx.secret, ctx.campaign.campaignId, c.customerId)}.gif" width="1" height="1" alt="">`;
    return {
      to: c.email!,
      subject,
      html: `${html}${footer}${pixel}`,
      listUnsubscribe: `<${unsubscribeUrl}>`,
    };
  }
  const text = render(compiled.body, vars, stripControl);
  if (typeof text !== "string") return text;
  return { to: c.rmId!, text };
}

/**
 * Decides one audience member. Pure: everything it needs is in its arguments.
 * Contact de-duplication and RM capacity span pages, so they are applied afterwards by `allocate`.
 */
export function decide(c: Customer, state: ContactState | undefined, ctx: DecideContext): Decision {
  const tier = tierInScheme(c, ctx.campaign.segment.scheme) ?? c.tier;
  // The RM on every decision (excluded too): branch and RM performance count the whole audience.
  const base = { customerId: c.customerId, shard: c.shard, tier, branchId: c.branchId, rmId: c.rmId };
  // Order: the variant is drawn first and the holdout last, from two independent draws. The holdout
  // draw reads only (campaignId, customerId), so adding, removing or re-weighting variants never moves
  // anyone in or out of the control group, and the split's draw adds "variant", so the holdout takes
  // the same share of every variant. The variant comes first in code because the channel rules below
  // (consent, opt-out, caps) depend on its channel: the holdout must be drawn among customers the
  // treatment could have reached, or treated and holdout would not be comparable. A holdout row keeps
  // the variant it would have had; the funnel's per-variant counts are the treated's only.
  const prepared = chooseVariant(ctx, tier, c.customerId, daysInactive(c, ctx.now));
  if (!prepared) return { ...base, decision: "excluded", reason: "no_variant" };
  const variant = prepared.variant.id;
  for (const rule of customerRules)
    if (rule.applies(c, ctx)) return { ...base, decision: "excluded", reason: rule.reason, variant };

  let chosen: CompiledChannel | undefined;
  let firstReason: string | undefined;
  for (const candidate of prepared.fallback ? [prepared.primary, prepared.fallback] : [prepared.primary]) {
    const closed = channelRules.find((rule) => rule.applies(c, state, candidate.channel, ctx));
    if (!closed) {
      chosen = candidate;
      break;
    }
    firstReason ??= closed.reason;
  }
  if (!chosen)
    return { ...base, decision: "excluded", reason: firstReason, variant, channel: prepared.primary.channel };
  const channel = chosen.channel;

  // When would it go? Wave time for salon tiers, then the next quiet-hours window for marketing channels.
  let sendAt = ctx.now;
  const wave = ctx.waveAt.get(tier);
  if (wave && Date.parse(wave) > sendAt.getTime()) sendAt = new Date(wave);
  if (MARKETING_CHANNELS.has(channel)) {
    sendAt =
      sendAt === ctx.now
        ? ctx.nowInWindow
          ? ctx.now
          : ctx.nextWindow
        : nextWindowStart(sendAt, ctx.config.quietHours);
  }
  if (capReached(state, channel, sendAt, ctx))
    return { ...base, decision: "excluded", reason: "frequency_capped", variant, channel };
  if (isHoldout(ctx.campaign.campaignId, c.customerId, ctx.campaign.holdoutPercent))
    return withGrowth({ ...base, decision: "holdout", variant, channel, rmId: c.rmId }, c, ctx);

  const message = renderMessage(c, chosen, ctx, prepared.variant);
  if ("missing" in message)
    return { ...base, decision: "excluded", reason: `missing_variable:${message.missing}`, variant, channel };
  const decision: Decision = {
    ...base,
    decision: sendAt.getTime() > ctx.now.getTime() ? "deferred" : "eligible",
    variant,
    channel,
    message,
    rmId: c.rmId,
    contactKey: contactKeyFor(c, channel, ctx.secret),
  };
  if (decision.decision === "deferred") decision.dueAt = sendAt.toISOString();
  if (ctx.campaign.playbook === "referral-drive")
    decision.referralCode = referralCode(ctx.secret, ctx.campaign.campaignId, c.customerId);
  return withGrowth(decision, c, ctx);
}

/** Treated and held out alike carry what an import-based conversion compares with. */
function withGrowth(decision: Decision, c: Customer, ctx: DecideContext): Decision {
  const goalAum = goalAumOf(c, ctx);
  if (goalAum === undefined && !ctx.campaign.goal && !IMPORT_PLAYBOOKS.has(ctx.campaign.playbook))
    return decision;
  decision.aum = c.aum;
  if (goalAum !== undefined) decision.goalAum = goalAum;
  return decision;
}

/** Cross-page claims: the in-memory allocator serves preview; the DynamoDB one serves launch. */
export interface Allocator {
  /** True when this contact was not yet claimed in this campaign by another customer (and is now). */
  claimContact(contactKey: string, owner: string): Promise<boolean>;
  /** The same for many contacts at once (distinct keys), each answer as claimContact's, in order. */
  claimContacts?(claims: { contactKey: string; owner: string }[]): Promise<boolean[]>;
  /** The 1-based sequence number of this RM's task in this campaign. */
  nextRmSlot(rmId: string): Promise<number>;
  /**
   * Takes a place for `owner` in the RM's work of local day `day`, across every campaign, if fewer than
   * `capacity` are taken (or `owner` already has it: a retried page). Without it, capacity is per campaign.
   */
  claimRmDay?(rmId: string, day: string, owner: string, capacity: number): Promise<boolean>;
}

/** How far ahead an RM's tasks may be spread (a book of 800 at 20 a day is 40 days). */
const MAX_RM_DAYS = 366;

export function memoryAllocator(): Allocator {
  const contacts = new Map<string, string>();
  const rm = new Map<string, number>();
  return {
    async claimContact(k, owner) {
      const current = contacts.get(k);
      if (current !== undefined) return current === owner;
      contacts.set(k, owner);
      return true;
    },
    async nextRmSlot(id) {
      const n = (rm.get(id) ?? 0) + 1;
      rm.set(id, n);
      return n;
    },
  };
}

/**
 * Applies what spans pages: a contact already messaged in this campaign makes a duplicate_contact,
 * and RM tasks beyond an RM's daily capacity move to the following days (RM books are 500–800).
 */
export async function allocate(
  decisions: Decision[],
  allocator: Allocator,
  ctx: DecideContext,
): Promise<void> {
  const sending = decisions.filter((d) => d.decision === "eligible" || d.decision === "deferred");
  // Claims run concurrently per contact; within a page the first customer with a contact wins.
  const byContact = new Map<string, Decision[]>();
  for (const d of sending)
    if (d.contactKey) byContact.set(d.contactKey, [...(byContact.get(d.contactKey) ?? []), d]);
  const groups = [...byContact.entries()];
  const settle = (group: Decision[], won: boolean) => {
    for (const [j, d] of group.entries()) {
      if (won && j === 0) continue;
      d.decision = "excluded";
      d.reason = "duplicate_contact";
      delete d.message;
      delete d.dueAt;
    }
  };
  if (allocator.claimContacts) {
    const won = await allocator.claimContacts(
      groups.map(([contactKey, group]) => ({ contactKey, owner: group[0]!.customerId })),
    );
    for (const [i, [, group]] of groups.entries()) settle(group, won[i]!);
  } else
    for (let i = 0; i < groups.length; i += 32)
      await Promise.all(
        groups
          .slice(i, i + 32)
          .map(async ([contactKey, group]) =>
            settle(group, await allocator.claimContact(contactKey, group[0]!.customerId)),
          ),
      );
  // Per RM, the first day that may still have room (days only fill up), so a page does not retry full ones.
  const firstFree = new Map<string, number>();
  const today = localDay(ctx.now, ctx.config.quietHours.timeZone);
  for (const d of sending) {
    if (d.decision === "excluded" || d.channel !== "rm-task" || !d.rmId) continue;
    let dayOffset: number;
    if (allocator.claimRmDay) {
      const owner = `${ctx.campaign.campaignId}#${d.customerId}`;
      dayOffset = firstFree.get(d.rmId) ?? 0;
      while (
        dayOffset < MAX_RM_DAYS &&
        !(await allocator.claimRmDay(
          d.rmId,
          addDaysLocal(today, dayOffset),
          owner,
          ctx.config.rm.dailyTasksPerRm,
        ))
      )
        dayOffset++;
      firstFree.set(d.rmId, dayOffset);
    } else {
      const slot = await allocator.nextRmSlot(d.rmId);
      dayOffset = Math.floor((slot - 1) / ctx.config.rm.dailyTasksPerRm);
    }
    if (dayOffset > 0) {
      d.decision = "deferred";
      d.dueAt = new Date(ctx.now.getTime() + dayOffset * 86_400_000).toISOString();
    }
  }
}
