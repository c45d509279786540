import { localTime } from "#functions/campaign/time.ts";

/**
 * Five-field cron (minute hour day-of-month month day-of-week) in the bank's time zone, the same
 * expressions on both runtimes: the in-process scheduler evaluates them here, and on AWS they are
 * translated to EventBridge Scheduler's six-field form with `ScheduleExpressionTimezone`.
 */
export interface Cron {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  anyDay: boolean;
  anyWeekday: boolean;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day-of-week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
] as const;

export class CronError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
  }
}

function parseField(text: string, f: (typeof FIELDS)[number], problems: string[]): Set<number> {
  const out = new Set<number>();
  const names: readonly string[] = "names" in f ? f.names : [];
  const value = (s: string) => {
    const i = names.indexOf(s.toUpperCase());
    if (i >= 0) return i + (f.name === "month" ? 1 : 0);
    return /^\d+$/.test(s) ? Number(s) : Number.NaN;
  };
  for (const part of text.split(",")) {
    const m = /^(\*|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) {
      problems.push(`${f.name}: "${part}" is not a value, range (a-b), list (a,b) or step (*/n)`);
      continue;
    }
    const lo = m[1] === "*" ? f.min : value(m[2]!);
    const hi = m[1] === "*" ? f.max : m[3] !== undefined ? value(m[3]) : m[4] ? f.max : lo;
    const step = m[4] ? Number(m[4]) : 1;
    if ([lo, hi].some((n) => Number.isNaN(n) || n < f.min || n > f.max)) {
      problems.push(`${f.name}: "${part}" is outside ${f.min}-${f.max}`);
      continue;
    }
    if (lo > hi || step < 1) {
      problems.push(`${f.name}: "${part}" is an empty range`);
      continue;
    }
    for (let n = lo; n <= hi; n += step) out.add(f.name === "day-of-week" && n === 7 ? 0 : n);
  }
  return out;
}

export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CronError([
      `cron needs 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}: "${source}"`,
    ]);
  const problems: string[] = [];
  const [minutes, hours, days, months, weekdays] = FIELDS.map((f, i) =>
    parseField(parts[i]!, f, problems),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const anyDay = parts[2] === "*";
  const anyWeekday = parts[4] === "*";
  // Classic cron ORs the two day fields; EventBridge cannot express that, so one of them must stay "*".
  if (!anyDay && !anyWeekday)
    problems.push("set day-of-month or day-of-week, not both (leave the other as *)");
  if (problems.length) throw new CronError(problems);
  return { source, minutes, hours, days, months, weekdays, anyDay, anyWeekday };
}

const MINUTE = 60_000;

/** The earliest instant whose wall time in `timeZone` is `wall` ("local time as if UTC"), if any. */
function instantOf(wall: number, timeZone: string): number | undefined {
  const offsets = new Set(
    [wall - 43_200_000, wall + 43_200_000].map((near) => localTime(new Date(near), timeZone).offsetMs),
  );
  const found = [...offsets]
    .map((o) => wall - o)
    .filter((at) => localTime(new Date(at), timeZone).offsetMs === wall - at);
  return found.length ? Math.min(...found) : undefined;
}

/** The first firing strictly after `after`, in the zone's wall time on the day it fires. */
export function nextRun(cron: Cron, after: Date, timeZone = "Asia/Shanghai"): Date {
  const offset = localTime(after, timeZone).offsetMs;
  // Work in "local time as if UTC", then shift back.
  let t = Math.floor((after.getTime() + offset) / MINUTE) * MINUTE + MINUTE;
  const limit = t + 5 * 366 * 86_400_000;
  while (t < limit) {
    const d = new Date(t);
    if (!cron.months.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    const dayOk = cron.anyDay || cron.days.has(d.getUTCDate());
    const weekdayOk = cron.anyWeekday || cron.weekdays.has(d.getUTCDay());
    if (!dayOk || !weekdayOk) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!cron.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (!cron.minutes.has(d.getUTCMinutes())) {
      t += MINUTE;
      continue;
    }
    // The instant of this wall time, with the zone's offset at that instant (not at `after`: a
    // daylight-saving change may lie between). A wall time the change skips does not fire; one it
    // repeats fires at its first occurrence only.
    const at = instantOf(t, timeZone);
    if (at === undefined || at <= after.getTime()) {
      t += MINUTE;
      continue;
    }
    return new Date(at);
  }
  throw new CronError([`"${cron.source}" never fires (e.g. 31 February)`]);
}

/** EventBridge Scheduler's form: `cron(min hour dom month dow year)`, `?` for the unused day field, SUN = 1. */
export function toEventBridge(cron: Cron): string {
  const [min, hour, dom, month, dow] = cron.source.trim().split(/\s+/) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const awsDow = cron.anyWeekday ? "?" : dow.replace(/(?<!\/)\d+/g, (n) => String((Number(n) % 7) + 1));
  return `cron(${min} ${hour} ${cron.anyWeekday ? dom : "?"} ${month} ${awsDow} *)`;
}
