import { z } from "zod";
import { PRIMARY_SCHEME, type TiercastConfig, type TierScheme } from "#platform/config.ts";
import { isIsoDate, isIsoInstant } from "#platform/dates.ts";
import { shardOf } from "#platform/hash.ts";
import { OptionalMoney } from "#platform/storable.ts";

const DAY_MS = 86_400_000;

// Import rows come from JSON (typed) and CSV (all strings): accept both, reject what cannot be a customer.
const emptyToUndefined = (v: unknown) => (v === "" || v === null ? undefined : v);
const Bool = z.preprocess((v) => {
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (s === "") return undefined;
    if (["true", "1", "yes", "y", "是"].includes(s)) return true;
    if (["false", "0", "no", "n", "否"].includes(s)) return false;
  }
  return v;
}, z.boolean().optional());
const Str = (max: number) =>
  z.preprocess(
    (v) =>
      typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() || undefined : emptyToUndefined(v),
    z
      .string()
      .max(max, { error: `longer than ${max} characters` })
      .optional(),
  );
// Strict calendar: 2027-02-30 is refused, never rolled over to 2 March (see dates.ts).
const DateOnly = z.preprocess(
  (v) => (typeof v === "string" ? v.trim() || undefined : emptyToUndefined(v)),
  z.string().refine(isIsoDate, "must be a date YYYY-MM-DD that exists").optional(),
);
const DateTime = z.preprocess(
  (v) => (typeof v === "string" ? v.trim() || undefined : emptyToUndefined(v)),
  z
    .string()
    .max(40)
    .refine((s) => isIsoInstant(s, { dateOnly: true }), "must be an ISO-8601 date-time on a day that exists")
    .optional(),
);
const LooseEnum = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (typeof v === "string" ? v.trim().toLowerCase() || undefined : emptyToUndefined(v)),
    z.enum(values).optional(),
  );
/** A list: a JSON array, or `a|b|c` in a CSV cell (CONTRACT.md's tags). */
const List = (maxItems: number, maxChars: number) =>
  z.preprocess(
    (v) => {
      if (typeof v === "string") {
        const items = v
          .split("|")
          .map((x) => x.trim())
          .filter(Boolean);
        return items.length ? items : undefined;
      }
      return emptyToUndefined(v);
    },
    z
      .array(
        z.preprocess(
          (x) => (typeof x === "number" ? String(x) : typeof x === "string" ? x.trim() : x),
          z
            .string()
            .min(1)
            .max(maxChars, { error: `longer than ${maxChars} characters` }),
        ),
      )
      .max(maxItems, { error: `more than ${maxItems} items` })
      .optional(),
  );

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
/** The months to keep of a customer's AUM history (two years: enough for any year-on-year change). */
export const AUM_HISTORY_MONTHS = 24;
/**
 * A bank's AUM history in an import: JSONL `{"2027-01": 45000, …}` or `[{"month","aum"}]`; CSV
 * `2027-01:45000|2027-02:47000`. Each month's value is money like `aum`.
 */
const AumHistory = z.preprocess(
  (v) => {
    if (typeof v === "string") {
      if (!v.trim()) return undefined;
      return Object.fromEntries(
        v.split("|").map((part) => {
          const [month = "", amount = ""] = part.split(":").map((x) => x.trim());
          return [month, amount === "" ? Number.NaN : Number(amount)];
        }),
      );
    }
    if (Array.isArray(v))
      return Object.fromEntries(
        v.map((e) => [String((e as { month?: unknown })?.month ?? ""), (e as { aum?: unknown })?.aum]),
      );
    return emptyToUndefined(v);
  },
  z
    .record(
      z.string(),
      z
        .number({ error: "each month's AUM must be a number" })
        .finite()
        .nonnegative({ error: "each month's AUM must be ≥ 0" })
        .max(1e15, { error: "each month's AUM is out of range" }),
    )
    .superRefine((h, ctx) => {
      for (const month of Object.keys(h))
        if (!MONTH.test(month))
          ctx.addIssue({ code: "custom", message: `"${month}" is not a month YYYY-MM` });
      if (Object.keys(h).length > 120) ctx.addIssue({ code: "custom", message: "at most 120 months" });
    })
    .optional(),
);

/** CONTRACT.md's customer record as it arrives in an import. Unknown fields are ignored. */
export const CustomerInput = z.object({
  customerId: z.preprocess(
    (v) => (typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : v),
    z
      .string({ error: "customerId is required" })
      .min(1, "customerId is required")
      .max(128, "customerId is too long")
      .regex(/^[^#\s]+$/, "customerId must not contain '#' or spaces"),
  ),
  kind: LooseEnum(["retail", "corporate"] as const),
  name: Str(200),
  phone: Str(32),
  email: Str(320),
  // Money is exact to the fen and within range, so the store never refuses it (1e308 is a rejected line).
  aum: OptionalMoney,
  familyAum: OptionalMoney,
  creditLine: OptionalMoney,
  cardTier: LooseEnum(["black", "platinum", "gold", "silver"] as const),
  branchId: Str(64),
  rmId: Str(64),
  openedAt: DateTime,
  lastTransactionAt: DateTime,
  birthday: DateOnly,
  riskFlag: Bool,
  consentSms: Bool,
  consentEmail: Bool,
  referredBy: Str(128),
  tags: List(50, 64),
  products: List(100, 64),
  riskTolerance: z.preprocess(
    (v) => (typeof v === "string" ? v.trim().toUpperCase() || undefined : emptyToUndefined(v)),
    z.enum(["C1", "C2", "C3", "C4", "C5"], { error: "must be C1, C2, C3, C4 or C5" }).optional(),
  ),
  /** Monthly AUM before this import (from the bank's warehouse); each import adds its own month. */
  aumHistory: AumHistory,
  /** The customer's large certificate of deposit (大额存单): when it matures and its amount (003:23). */
  cdMaturesAt: DateOnly,
  cdAmount: OptionalMoney,
});
export type CustomerInput = z.infer<typeof CustomerInput>;

/** A stored customer: the input normalized plus what is derived from it. */
export interface Customer {
  customerId: string;
  kind: "retail" | "corporate";
  name?: string;
  /** Normalized mainland mobile (+86XXXXXXXXXXX) or absent when missing/invalid. */
  phone?: string;
  email?: string;
  aum: number;
  familyAum?: number;
  cardTier?: "black" | "platinum" | "gold" | "silver";
  branchId?: string;
  rmId?: string;
  /** The RMs this customer had before, oldest first: a branch manager's handover records each move. */
  rmHistory?: RmMove[];
  openedAt?: string;
  lastTransactionAt?: string;
  birthday?: string;
  riskFlag: boolean;
  consentSms: boolean;
  consentEmail: boolean;
  referredBy?: string;
  tags?: string[];
  products?: string[];
  riskTolerance?: "C1" | "C2" | "C3" | "C4" | "C5";
  /** Corporate: the target credit line, CNY (class 1 at ≥ the top class's bound, 000:547). */
  creditLine?: number;
  /** AUM per month `YYYY-MM` (bank's time zone), the last import of each month; at most 24 months. */
  aumHistory?: Record<string, number>;
  cdMaturesAt?: string;
  cdAmount?: number;
  /** Primary tier in the kind's scheme (retail AUM or corporate class). */
  tier: string;
  /** Card-scheme tier this customer qualifies for by assets (for upgrade nudges); retail only. */
  cardEligible?: string;
  phoneInvalid?: boolean;
  emailInvalid?: boolean;
  shard: number;
}

/** One move of a customer from an RM's book to another's (a handover), kept on the record. */
export interface RmMove {
  from: string;
  to: string;
  by: string;
  at: string;
}

const MOBILE = /^1[3-9]\d{9}$/;
export function normalizePhone(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const digits = raw.replace(/[\s-]/g, "");
  const local = digits.startsWith("+86")
    ? digits.slice(3)
    : digits.startsWith("0086")
      ? digits.slice(4)
      : digits;
  return MOBILE.test(local) ? `+86${local}` : undefined;
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[a-z]{2,}$/i;
export function normalizeEmail(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const email = raw.trim();
  return EMAIL.test(email) && email.length <= 254 ? email.toLowerCase() : undefined;
}

const cents = (amount: number) => Math.round(amount * 100);

/** Lower bound inclusive, upper exclusive, compared in fen so 49,999.99 never rounds into the next tier. */
export function tierFor(scheme: TierScheme, aum: number, familyAum?: number): string {
  let chosen = scheme.tiers[0]!.name;
  for (const tier of scheme.tiers) {
    const byOwn = cents(aum) >= cents(tier.min);
    const byFamily =
      tier.minFamily !== undefined && familyAum !== undefined && cents(familyAum) >= cents(tier.minFamily);
    if (byOwn || byFamily) chosen = tier.name;
  }
  return chosen;
}

export function toCustomer(input: CustomerInput, config: TiercastConfig): Customer {
  const kind = input.kind ?? "retail";
  const aum = input.aum ?? 0;
  const scheme = config.tierSchemes[PRIMARY_SCHEME[kind]]!;
  let tier = tierFor(scheme, aum, input.familyAum);
  // 000:547 (DOMAIN.md corrections): class 1 is deposits ≥ 2亿 or a target credit line ≥ 2亿 (not a sum).
  const top = scheme.tiers.at(-1)!;
  if (kind === "corporate" && input.creditLine !== undefined && cents(input.creditLine) >= cents(top.min))
    tier = top.name;
  const phone = normalizePhone(input.phone);
  const email = normalizeEmail(input.email);
  const customer: Customer = {
    customerId: input.customerId,
    kind,
    aum,
    tier,
    riskFlag: input.riskFlag ?? false,
    consentSms: input.consentSms ?? false,
    consentEmail: input.consentEmail ?? false,
    shard: shardOf(input.customerId, config.shards),
  };
  const optional = {
    name: input.name,
    phone,
    email,
    familyAum: input.familyAum,
    cardTier: input.cardTier,
    branchId: input.branchId,
    rmId: input.rmId,
    openedAt: input.openedAt,
    lastTransactionAt: input.lastTransactionAt,
    birthday: input.birthday,
    referredBy: input.referredBy,
    tags: input.tags,
    products: input.products,
    riskTolerance: input.riskTolerance,
    creditLine: input.creditLine,
    aumHistory: input.aumHistory ? trimHistory(input.aumHistory) : undefined,
    cdMaturesAt: input.cdMaturesAt,
    cdAmount: input.cdAmount,
    phoneInvalid: input.phone && !phone ? true : undefined,
    emailInvalid: input.email && !email ? true : undefined,
    cardEligible:
      kind === "retail" && config.tierSchemes.card
        ? tierFor(config.tierSchemes.card, aum, input.familyAum)
        : undefined,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (customer as unknown as Record<string, unknown>)[key] = value;
  }
  return customer;
}

export function tierInScheme(customer: Customer, schemeName: string): string | undefined {
  if (schemeName === "card") return customer.cardTier ?? customer.cardEligible;
  return PRIMARY_SCHEME[customer.kind] === schemeName ? customer.tier : undefined;
}

/**
 * The UTC day (YYYY-MM-DD) of the customer's last activity: the later of account opening and last
 * transaction (the care index's key). Undefined when neither is a date.
 */
export function lastActivityDay(
  customer: Pick<Customer, "lastTransactionAt" | "openedAt">,
): string | undefined {
  const times = [customer.openedAt, customer.lastTransactionAt]
    .map((t) => (t ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return times.length ? new Date(Math.max(...times)).toISOString().slice(0, 10) : undefined;
}

/** Whether an ISO instant lies in the `hours` before `now` (not after it). */
export function withinHours(at: string | undefined, now: Date, hours: number): boolean {
  const since = now.getTime() - (at ? Date.parse(at) : Number.NaN);
  return since >= 0 && since <= hours * 3_600_000;
}

/** Days since the last transaction at `now`; never transacted counts from account opening (or forever). */
export function daysInactive(customer: Pick<Customer, "lastTransactionAt" | "openedAt">, now: Date): number {
  const since = customer.lastTransactionAt ?? customer.openedAt;
  if (!since) return Number.POSITIVE_INFINITY;
  return Math.floor((now.getTime() - Date.parse(since)) / DAY_MS);
}

export function isDormant(
  customer: Pick<Customer, "lastTransactionAt" | "openedAt">,
  now: Date,
  dormantDays: number,
) {
  return daysInactive(customer, now) >= dormantDays;
}

export type LifecycleStage = "intro" | "growth" | "maturity" | "decline" | "lost";
export interface LifecycleThresholds {
  introDays: number;
  growthDays: number;
  declineDays: number;
  lostDays: number;
}
/**
 * 引入/成长/成熟/衰退 (004:51), then lost: inactive `lostDays` is lost, inactive `declineDays` is decline;
 * otherwise by the account's age, intro before `introDays`, growth before `growthDays`, then maturity.
 */
export function lifecycleStage(
  customer: Pick<Customer, "lastTransactionAt" | "openedAt">,
  now: Date,
  t: LifecycleThresholds,
): LifecycleStage {
  const inactive = daysInactive(customer, now);
  if (inactive >= t.lostDays) return "lost";
  if (inactive >= t.declineDays) return "decline";
  const ageDays = customer.openedAt
    ? (now.getTime() - Date.parse(customer.openedAt)) / DAY_MS
    : Number.POSITIVE_INFINITY;
  if (ageDays < t.introDays) return "intro";
  if (ageDays < t.growthDays) return "growth";
  return "maturity";
}

export const lifecycleThresholds = (config: TiercastConfig): LifecycleThresholds => ({
  ...config.lifecycle,
  lostDays: config.lostDays,
});

/** The newest `AUM_HISTORY_MONTHS` months of a history. */
export function trimHistory(history: Record<string, number>): Record<string, number> {
  const months = Object.keys(history).sort().slice(-AUM_HISTORY_MONTHS);
  return Object.fromEntries(months.map((m) => [m, history[m]!]));
}

/** `YYYY-MM` shifted by `delta` months. */
export function addMonths(month: string, delta: number): string {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + delta;
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/**
 * The history an upsert keeps: what was stored, what the file brought, and this import's month at the
 * record's AUM (the last import of a month is its snapshot).
 */
export function mergeHistory(
  stored: Record<string, number> | undefined,
  imported: Record<string, number> | undefined,
  month: string,
  aum: number,
): Record<string, number> {
  return trimHistory({ ...stored, ...imported, [month]: aum });
}

/** Whole years of age on local day `today` (YYYY-MM-DD), or undefined without a birthday. */
export function ageOn(birthday: string | undefined, today: string): number | undefined {
  if (!birthday) return undefined;
  const years = Number(today.slice(0, 4)) - Number(birthday.slice(0, 4));
  return today.slice(5) >= birthday.slice(5) ? years : years - 1;
}
