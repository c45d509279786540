import { z } from "zod";

/**
 * The one strict reader of dates and instants for every door (CLI flags, files, API bodies, campaign
 * fields). `Date.parse` rolls 2027-02-30 over to 2 March and takes 24:00; these refuse both.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):?(\d{2}))?$/i;

export function isRealDay(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** `YYYY-MM-DD` naming a day that exists. */
export function isIsoDate(s: string): boolean {
  const m = DATE.exec(s);
  return Boolean(m && isRealDay(+m[1]!, +m[2]!, +m[3]!));
}

/**
 * An ISO-8601 date-time (`YYYY-MM-DDTHH:mm[:ss[.fff]][Z|±HH:mm]`) whose day exists and whose clock
 * reads 00:00–23:59:59; with `dateOnly`, a plain `YYYY-MM-DD` (midnight UTC) is accepted too.
 */
export function parseInstant(s: string, options: { dateOnly?: boolean } = {}): Date | undefined {
  if (options.dateOnly && isIsoDate(s)) return new Date(`${s}T00:00:00Z`);
  const m = INSTANT.exec(s);
  if (!m || !isRealDay(+m[1]!, +m[2]!, +m[3]!)) return undefined;
  if (+m[4]! > 23 || +m[5]! > 59 || (m[6] !== undefined && +m[6] > 59)) return undefined;
  if (m[9] !== undefined && (+m[9] > 23 || +m[10]! > 59)) return undefined;
  const t = Date.parse(
    m[8] && !m[8].includes(":") && m[8].length === 5 ? `${s.slice(0, -2)}:${s.slice(-2)}` : s,
  );
  return Number.isNaN(t) ? undefined : new Date(t);
}

export const isIsoInstant = (s: string, options: { dateOnly?: boolean } = {}) =>
  parseInstant(s, options) !== undefined;

/** zod: an instant as in parseInstant; the string is kept as given. */
export const IsoInstant = z
  .string()
  .max(40)
  .refine(
    (s) => isIsoInstant(s),
    "must be an ISO-8601 date-time on a day that exists (2027-03-01T10:00:00+08:00)",
  );

/** zod: a `YYYY-MM-DD` day that exists. */
export const IsoDate = z.string().refine(isIsoDate, "must be a date YYYY-MM-DD that exists");
