import { readFileSync } from "node:fs";
import { z } from "zod";
import { IsoDate } from "./dates.ts";
import { ConfigError } from "./errors.ts";

const Money = z.number().finite().nonnegative();

const TemplateCode = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,64}$/, "letters, digits or _ (the vendor's template code)");

/** The confirmation texts of a salon RSVP by SMS, one per outcome (see `salon.confirmations`). */
const RsvpTexts = z.object({
  seat: z.string().min(1).max(500),
  waitlisted: z.string().min(1).max(500),
  full: z.string().min(1).max(500),
  /** A waitlisted guest who takes a seat freed by a cancellation (default below, per language). */
  promoted: z.string().min(1).max(500).optional(),
  /** A later yes of a guest already answered: once per guest (default below, per language). */
  already: z.string().min(1).max(500).optional(),
});
export type RsvpTexts = z.infer<typeof RsvpTexts>;
export const RSVP_TEXTS: { zh: Required<RsvpTexts>; en: Required<RsvpTexts> } = {
  zh: {
    seat: "{{name|尊敬的客户}}您好，您已成功报名{{eventName|活动}}，时间{{eventTime}}，地点{{venue|网点}}，期待您的光临。",
    waitlisted:
      "{{name|尊敬的客户}}您好，{{eventName|活动}}名额已满，您已进入候补名单，有空位时我们将为您保留并提醒您。",
    full: "{{name|尊敬的客户}}您好，{{eventName|活动}}名额已满，感谢您的关注，期待下次与您相见。",
    promoted:
      "{{name|尊敬的客户}}您好，{{eventName|活动}}有空位了，已为您保留座位，时间{{eventTime}}，地点{{venue|网点}}，期待您的光临。",
    already: "{{name|尊敬的客户}}您好，您对{{eventName|活动}}的回复我们已收到，无需再次回复。",
  },
  en: {
    seat: "Dear {{name|customer}}, your seat at {{eventName|the event}} ({{eventTime}}, {{venue|our branch}}) is confirmed. We look forward to seeing you.",
    waitlisted:
      "Dear {{name|customer}}, {{eventName|the event}} is full: you are on the waitlist, and we will hold a seat and remind you if one frees up.",
    full: "Dear {{name|customer}}, {{eventName|the event}} is full. Thank you for your interest; we hope to see you next time.",
    promoted:
      "Dear {{name|customer}}, a seat at {{eventName|the event}} ({{eventTime}}, {{venue|our branch}}) has freed up and is now yours. We look forward to seeing you.",
    already:
      "Dear {{name|customer}}, we already have your reply for {{eventName|the event}}; there is no need to reply again.",
  },
};

export const TierDef = z.object({
  name: z
    .string()
    .min(1)
    .regex(/^[a-z0-9_-]+$/i, "tier names are letters, digits, - or _"),
  /** Lower bound, inclusive, on the scheme's metric (CNY). The next tier's min is this one's exclusive upper bound. */
  min: Money,
  /** Optional alternative lower bound on family assets (card scheme: platinum ≥30万 personal or ≥25万 family). */
  minFamily: Money.optional(),
  /** Tiers that must never be bulk-messaged (private banking: RM only). */
  rmOnly: z.boolean().default(false),
});
export type TierDef = z.infer<typeof TierDef>;

export const TierScheme = z
  .object({
    appliesTo: z.enum(["retail", "corporate"]),
    tiers: z.array(TierDef).min(1),
  })
  .superRefine((scheme, ctx) => {
    const names = new Set<string>();
    scheme.tiers.forEach((tier, i) => {
      if (names.has(tier.name))
        ctx.addIssue({
          code: "custom",
          path: ["tiers", i, "name"],
          message: `duplicate tier "${tier.name}"`,
        });
      names.add(tier.name);
      const prev = scheme.tiers[i - 1];
      if (prev && tier.min <= prev.min)
        ctx.addIssue({
          code: "custom",
          path: ["tiers", i, "min"],
          message: "tiers must be listed by ascending min",
        });
    });
    if (scheme.tiers[0] && scheme.tiers[0].min !== 0)
      ctx.addIssue({ code: "custom", path: ["tiers", 0, "min"], message: "the lowest tier must start at 0" });
  });
export type TierScheme = z.infer<typeof TierScheme>;

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected HH:MM");

export const TiercastConfig = z.object({
  shards: z.number().int().min(1).max(256).default(16),
  tierSchemes: z
    .record(z.string().regex(/^[a-z0-9_-]+$/), TierScheme)
    .default(() => structuredClone(DEFAULT_SCHEMES)),
  quietHours: z
    .object({ start: HHMM, end: HHMM, timeZone: z.string().default("Asia/Shanghai") })
    .default({ start: "08:00", end: "22:00", timeZone: "Asia/Shanghai" }),
  caps: z
    .object({
      perChannelPerDay: z.number().int().min(0).default(1),
      rollingDays: z.number().int().min(1).default(30),
      perRollingWindow: z.number().int().min(0).default(4),
    })
    .default({ perChannelPerDay: 1, rollingDays: 30, perRollingWindow: 4 }),
  /** Dormant after this many days without a transaction (000:211-215): dormant-reactivation's default segment. */
  dormantDays: z.number().int().min(1).default(180),
  /** Lost after this many days without a transaction: win-back variants (`"winBack": true`) and the `lost` stage. */
  lostDays: z.number().int().min(1).default(365),
  /**
   * Lifecycle stages 引入/成长/成熟/衰退 (004:51), then lost: intro while the account is younger than
   * `introDays`, growth while younger than `growthDays`, maturity after; decline once inactive
   * `declineDays` (before dormancy), lost once inactive `lostDays`.
   */
  lifecycle: z
    .object({
      introDays: z.number().int().min(1).default(90),
      growthDays: z.number().int().min(1).default(365),
      declineDays: z.number().int().min(1).default(90),
    })
    .default({ introDays: 90, growthDays: 365, declineDays: 90 }),
  /** A large certificate of deposit (大额存单): at least this amount (CNY), for maturity reminders (003:23). */
  largeCdMin: z.number().finite().nonnegative().default(200_000),
  holdoutPercent: z.number().min(0).max(50).default(5),
  attributionDays: z.number().int().min(1).max(365).default(30),
  riskFlagExcluded: z.boolean().default(true),
  sms: z
    .object({
      optOutText: z.string().min(1).default("拒收请回复R"),
      signature: z.string().default("【Tiercast银行】"),
      costPerPart: z.number().nonnegative().default(0.045),
      ratePerSecond: z.number().positive().default(200),
      /**
       * AWS China: the domestic vendor that sends SMS (Alibaba Cloud or Tencent Cloud), which sends only
       * templates registered with it, so every SMS variant needs its `smsTemplateCode`. Set by the
       * deployment (CDK) or the runtime's SMS_PROVIDER, not by hand.
       */
      vendor: z.enum(["aliyun", "tencent"]).optional(),
    })
    .default({
      optOutText: "拒收请回复R",
      signature: "【Tiercast银行】",
      costPerPart: 0.045,
      ratePerSecond: 200,
    }),
  email: z
    .object({
      from: z.string().default("marketing@tiercast.local"),
      unsubscribeBaseUrl: z.string().default("https://tiercast.local/u"),
      ratePerSecond: z.number().positive().default(100),
    })
    .default({
      from: "marketing@tiercast.local",
      unsubscribeBaseUrl: "https://tiercast.local/u",
      ratePerSecond: 100,
    }),
  /** The holiday calendar for holiday-greeting schedules (`holidaysOnly`); a bank replaces it each year. */
  holidays: z.array(z.object({ date: IsoDate, name: z.string().min(1) })).default([
    { date: "2026-10-01", name: "国庆节" },
    { date: "2027-01-01", name: "元旦" },
    { date: "2027-02-06", name: "春节" },
    { date: "2027-06-09", name: "端午节" },
    { date: "2027-09-15", name: "中秋节" },
    { date: "2027-10-01", name: "国庆节" },
  ]),
  /** Where tracked links and the open pixel point: the redirect service (`tiercast serve`, or the API on AWS). */
  tracking: z
    .object({ baseUrl: z.string().url().default("https://t.tiercast.local") })
    .default({ baseUrl: "https://t.tiercast.local" }),
  rm: z
    .object({
      dailyTasksPerRm: z.number().int().min(1).default(20),
      /** The most customers one RM's book should hold (000:640: 500–800). */
      bookCap: z.number().int().min(1).default(800),
    })
    .default({ dailyTasksPerRm: 20, bookCap: 800 }),
  pageSize: z.number().int().min(10).max(5000).default(1000),
  /**
   * Pages one child execution of the launch decides before the next child continues from its cursor:
   * 7 history events a page, so 2,000 keeps a child near 14,000 of Step Functions' 25,000.
   */
  pagesPerExecution: z.number().int().min(1).max(3000).default(2000),
  /**
   * Salons: the SMS replies to an invitation that register (any case, surrounding spaces ignored), and
   * the SMS that confirms such a reply (a seat taken, the waitlist, or full), per language of the
   * invitation (`zh` when its text has Chinese, else `en`); `{{name}}`, `{{eventName}}`,
   * `{{eventTime}}` and `{{venue}}` as in campaign templates.
   */
  salon: z
    .object({
      rsvpReplies: z.array(z.string().min(1).max(20)).min(1).default(["Y", "是"]),
      confirmations: z
        .object({ zh: RsvpTexts.default(RSVP_TEXTS.zh), en: RsvpTexts.default(RSVP_TEXTS.en) })
        .default(RSVP_TEXTS),
      /**
       * AWS China: the vendor template codes of the salon's own SMS (the domestic vendors send only
       * registered templates). Without one there, that SMS is not sent (a warning is logged).
       */
      templateCodes: z
        .object({
          seat: TemplateCode,
          waitlisted: TemplateCode,
          full: TemplateCode,
          promoted: TemplateCode,
          already: TemplateCode,
          reminder: TemplateCode,
        })
        .partial()
        .optional(),
    })
    .default({ rsvpReplies: ["Y", "是"], confirmations: RSVP_TEXTS }),
});
export type TiercastConfig = z.infer<typeof TiercastConfig>;

/** The lifecycle thresholds must be in order, or a stage could never be reached: every problem is listed. */
function lifecycleProblems(config: TiercastConfig): string[] {
  const { introDays, growthDays, declineDays } = config.lifecycle;
  const problems: string[] = [];
  if (introDays >= growthDays)
    problems.push(
      `lifecycle.introDays: ${introDays} must be less than lifecycle.growthDays (${growthDays}), or no account is ever in growth`,
    );
  if (declineDays > config.dormantDays)
    problems.push(
      `lifecycle.declineDays: ${declineDays} must be at most dormantDays (${config.dormantDays}): decline comes before dormancy`,
    );
  if (config.dormantDays >= config.lostDays)
    problems.push(
      `lostDays: ${config.lostDays} must be more than dormantDays (${config.dormantDays}): a lost customer is dormant first`,
    );
  return problems;
}

/** DOMAIN.md: lower bound inclusive, upper exclusive. Amounts in CNY. */
export const DEFAULT_SCHEMES: Record<string, TierScheme> = {
  retail: {
    appliesTo: "retail",
    tiers: [
      { name: "mass", min: 0, rmOnly: false },
      { name: "potential", min: 10_000, rmOnly: false },
      { name: "quality", min: 50_000, rmOnly: false },
      { name: "key", min: 300_000, rmOnly: false },
      { name: "private", min: 1_000_000, rmOnly: true },
    ],
  },
  corporate: {
    appliesTo: "corporate",
    tiers: [
      { name: "class3", min: 0, rmOnly: false },
      { name: "class2", min: 50_000_000, rmOnly: false },
      { name: "class1", min: 200_000_000, rmOnly: false },
    ],
  },
  card: {
    appliesTo: "retail",
    tiers: [
      { name: "silver", min: 0, rmOnly: false },
      { name: "gold", min: 100_000, minFamily: 80_000, rmOnly: false },
      { name: "platinum", min: 300_000, minFamily: 250_000, rmOnly: false },
      // The seeds do not give black's threshold; invitation-level default, overridable.
      { name: "black", min: 6_000_000, rmOnly: false },
    ],
  },
};

/** The scheme that decides a customer's primary tier (and the GSI1 tier index) for each kind. */
export const PRIMARY_SCHEME = { retail: "retail", corporate: "corporate" } as const;

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`);
}

export function parseConfig(raw: unknown, source = "config"): TiercastConfig {
  const result = TiercastConfig.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  const config = result.data;
  const problems = lifecycleProblems(config);
  if (problems.length > 0) throw new ConfigError(source, problems);
  for (const kind of ["retail", "corporate"] as const) {
    if (!config.tierSchemes[PRIMARY_SCHEME[kind]])
      throw new ConfigError(source, [`tierSchemes.${kind}: the ${kind} scheme is required`]);
  }
  return config;
}

export function loadConfig(path?: string): TiercastConfig {
  if (!path) return parseConfig({});
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(path, ["cannot read the file"]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseConfig(raw, path);
}
