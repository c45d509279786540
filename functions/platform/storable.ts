import { z } from "zod";

/**
 * What DynamoDB can hold, checked before a write so a bad value is one rejected line, never a failed
 * batch: items up to 400 KB, numbers of magnitude 1e-130 to below 1e126 (38 significant digits).
 */
export const ITEM_LIMIT_BYTES = 400 * 1024;

/** Why the store cannot hold this number, or undefined when it can. */
export function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return "must be a finite number";
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e126 || a < 1e-130))
    return "is out of the storable range (magnitude 1e-130 to 1e126)";
  return undefined;
}

/** Every number, anywhere in `value`, that the store cannot hold, with its path. */
export function unstorableNumbers(value: unknown, path = ""): string[] {
  if (typeof value === "number") {
    const p = numberProblem(value);
    return p ? [`${path || "value"}: ${p}`] : [];
  }
  if (Array.isArray(value))
    return value.flatMap((v, i) => unstorableNumbers(v, path ? `${path}.${i}` : `${i}`));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => unstorableNumbers(v, path ? `${path}.${k}` : k));
  return [];
}

const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

/** DynamoDB's own accounting of an item's size (names + values), as documented for the 400 KB limit. */
export function itemSizeBytes(value: unknown): number {
  if (value === undefined) return 0;
  if (value === null || typeof value === "boolean") return 1;
  if (typeof value === "string") return utf8(value);
  if (typeof value === "number") return Math.ceil(String(value).replace(/^-|\.|e.*$/g, "").length / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce<number>((n, v) => n + 1 + itemSizeBytes(v), 0);
  if (typeof value === "object")
    return (
      3 +
      Object.entries(value).reduce<number>(
        (n, [k, v]) => (v === undefined ? n : n + 1 + utf8(k) + itemSizeBytes(v)),
        0,
      )
    );
  return 0;
}

/** The top level of an item: names count, but there is no map overhead. */
export function topItemSizeBytes(item: Record<string, unknown>): number {
  return Object.entries(item).reduce<number>(
    (n, [k, v]) => (v === undefined ? n : n + utf8(k) + itemSizeBytes(v)),
    0,
  );
}

/**
 * Money in CNY, kept exact to the fen: the decimal the person wrote is rounded half-up to 0.01, and
 * the amount stays below 9e13 so its fen are a safe integer (far below the store's 1e126).
 */
export const MAX_MONEY = 90_000_000_000_000;

/** Rounds a decimal amount to the fen from its decimal text, so 1.005 is 1.01 (binary rounding says 1.00). */
export function toFen(amount: number): number {
  const text = String(amount);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return Math.round(amount * 100); // exponent forms: tiny (rounds to 0) or already caught by the range
  const frac = (m[2] ?? "").padEnd(3, "0");
  const fen = Number(m[1]) * 100 + Number(frac.slice(0, 2));
  return Number(frac[2]) >= 5 ? fen + 1 : fen;
}

export const roundMoney = (amount: number) => toFen(amount) / 100;

const moneyText = (v: unknown) => {
  if (typeof v !== "string") return v === null || v === "" ? undefined : v;
  const s = v
    .trim()
    .replace(/^[¥￥]/, "")
    .replaceAll(",", "");
  return s === "" ? undefined : Number(s);
};
const moneyValue = z
  .number({ error: "must be a number" })
  .finite({ error: "must be a finite number" })
  .nonnegative({ error: "must be a non-negative number" })
  .max(MAX_MONEY, { error: `must be at most ${MAX_MONEY.toLocaleString("en-US")}` })
  .transform(roundMoney);

/** zod: a non-negative amount of money within range, rounded to the fen. Strings like "1,234.50" are read too. */
export const Money = z.preprocess(moneyText, moneyValue);
/** Money, or nothing (an empty CSV cell, null). */
export const OptionalMoney = z.preprocess(moneyText, moneyValue.optional());
