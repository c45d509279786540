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
  /** Corporate: the target credit line, CNY. */
  creditLine?: number;
  /** Primary tier in the kind's scheme (retail AUM or corporate class). */
  tier: string;
  /** Card-scheme tier this customer qualifies for by assets (for upgrade nudges); retail only. */
  cardEligible?: string;
  phoneInvalid?: boolean;
  emailInvalid?: boolean;
  shard: number;
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
  const phone = normalizePhone(input.phone);
  const email = normalizeEmail(input.email);
  const customer: Customer = {
    customerId: input.customerId,
    kind,
    aum,
    tier: tierFor(scheme, aum, input.familyAum),
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

export type LifecycleStage = "intro" | "growth" | "maturity" | "decline";
/** 引入/成长/成熟/衰退 (004:51): new accounts are intro, young are growth, inactive are decline. */
export function lifecycleStage(
  customer: Pick<Customer, "lastTransactionAt" | "openedAt">,
  now: Date,
  dormantDays: number,
): LifecycleStage {
  if (daysInactive(customer, now) >= Math.ceil(dormantDays / 2)) return "decline";
  const ageDays = customer.openedAt
    ? (now.getTime() - Date.parse(customer.openedAt)) / DAY_MS
    : Number.POSITIVE_INFINITY;
  if (ageDays < 90) return "intro";
  if (ageDays < 365) return "growth";
  return "maturity";
}
