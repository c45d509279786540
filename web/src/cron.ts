import type { Lang } from "./i18n.ts";

const WEEKDAYS: Record<Lang, string[]> = {
  zh: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
  en: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
};
const NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const num = (s: string) => /^\d+$/.test(s);
const pad = (n: string) => n.padStart(2, "0");

/** A day-of-week field as words: 1-5 → Monday–Friday, MON,WED → Monday, Wednesday. */
function weekdays(field: string, lang: Lang): string | undefined {
  const day = (s: string) => {
    const i = num(s) ? Number(s) % 7 : NAMES.indexOf(s.toUpperCase());
    return i >= 0 && i < 7 ? WEEKDAYS[lang][i] : undefined;
  };
  const parts = field.split(",").map((p) => {
    const [a, b, ...rest] = p.split("-");
    if (rest.length || !a) return undefined;
    if (b === undefined) return day(a);
    const [x, y] = [day(a), day(b)];
    return x && y ? `${x}${lang === "zh" ? "至" : "–"}${y}` : undefined;
  });
  return parts.every(Boolean) ? parts.join(lang === "zh" ? "、" : ", ") : undefined;
}

/**
 * A five-field cron in words, for the common shapes a bank schedules (daily, weekly, monthly, yearly
 * at a fixed time; every N minutes or hours); anything else is described field by field. Times are
 * the bank's zone, as the schedule runs in it.
 */
export function describeCron(cron: string, lang: Lang): string {
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return cron;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const zh = lang === "zh";
  if (min.startsWith("*/") && hour === "*" && dom === "*" && mon === "*" && dow === "*")
    return zh ? `每 ${min.slice(2)} 分钟` : `every ${min.slice(2)} minutes`;
  if (num(min) && hour.startsWith("*/") && dom === "*" && mon === "*" && dow === "*")
    return zh ? `每 ${hour.slice(2)} 小时（第 ${min} 分）` : `every ${hour.slice(2)} hours at minute ${min}`;
  if (!num(min) || !num(hour)) return zh ? `按表达式 ${cron}` : `on "${cron}"`;
  const time = `${pad(hour)}:${pad(min)}`;
  const month = num(mon) ? Number(mon) : MONTHS.indexOf(mon.toUpperCase()) + 1;
  if (dom === "*" && mon === "*" && dow === "*") return zh ? `每天 ${time}` : `every day at ${time}`;
  if (dom === "*" && mon === "*") {
    const days = weekdays(dow, lang);
    if (days) return zh ? `每${days} ${time}` : `every ${days} at ${time}`;
  }
  if (num(dom) && mon === "*" && dow === "*")
    return zh ? `每月 ${dom} 日 ${time}` : `on day ${dom} of every month at ${time}`;
  if (num(dom) && month >= 1 && dow === "*")
    return zh
      ? `每年 ${month} 月 ${dom} 日 ${time}`
      : `every year on ${new Date(Date.UTC(2000, month - 1, Number(dom))).toLocaleDateString("en-GB", { day: "numeric", month: "long", timeZone: "UTC" })} at ${time}`;
  return zh
    ? `分 ${min} · 时 ${hour} · 日 ${dom} · 月 ${mon} · 星期 ${dow}`
    : `minute ${min}, hour ${hour}, day ${dom}, month ${mon}, weekday ${dow}`;
}
