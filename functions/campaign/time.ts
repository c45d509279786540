/** Wall-clock helpers for a fixed time zone (Asia/Shanghai by default); computed once per page, not per recipient. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  date: string; // YYYY-MM-DD
  minutes: number; // minutes since local midnight
  offsetMs: number; // local - UTC
}

export function localTime(at: Date, timeZone: string): LocalTime {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  const asUtc = Date.UTC(
    +parts.year!,
    +parts.month! - 1,
    +parts.day!,
    +parts.hour!,
    +parts.minute!,
    +parts.second!,
  );
  return {
    date,
    minutes: +parts.hour! * 60 + +parts.minute!,
    offsetMs: asUtc - Math.floor(at.getTime() / 1000) * 1000,
  };
}

export const hhmm = (s: string) => +s.slice(0, 2) * 60 + +s.slice(3, 5);

export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

/** Is `at` inside the sending window [start, end)? */
export function inWindow(at: Date, quiet: QuietHours): boolean {
  const { minutes } = localTime(at, quiet.timeZone);
  return minutes >= hhmm(quiet.start) && minutes < hhmm(quiet.end);
}

/** `at` itself when inside the window, else the start of the next window. */
export function nextWindowStart(at: Date, quiet: QuietHours): Date {
  const local = localTime(at, quiet.timeZone);
  const start = hhmm(quiet.start);
  if (local.minutes >= start && local.minutes < hhmm(quiet.end)) return at;
  const [y, m, d] = local.date.split("-").map(Number) as [number, number, number];
  const dayOffset = local.minutes < start ? 0 : 1;
  const localStartUtc = Date.UTC(y, m - 1, d + dayOffset, 0, start) - local.offsetMs;
  return new Date(localStartUtc);
}

/** The local calendar day of an instant in the zone (for per-day caps and RM capacity). */
export function localDay(at: Date, timeZone: string): string {
  return localTime(at, timeZone).date;
}

export function addDaysLocal(day: string, days: number): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
