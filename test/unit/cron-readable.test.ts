import { describe, expect, it } from "vitest";
import { describeCron } from "../../web/src/cron.ts";

describe("the console's cron in words (schedules page)", () => {
  it.each([
    ["0 10 * * *", "每天 10:00", "every day at 10:00"],
    ["30 7 * * 1-5", "每周一至周五 07:30", "every Monday–Friday at 07:30"],
    ["0 9 * * MON,THU", "每周一、周四 09:00", "every Monday, Thursday at 09:00"],
    ["0 10 1 * *", "每月 1 日 10:00", "on day 1 of every month at 10:00"],
    ["0 9 15 3 *", "每年 3 月 15 日 09:00", "every year on 15 March at 09:00"],
    ["*/15 * * * *", "每 15 分钟", "every 15 minutes"],
    ["5 */2 * * *", "每 2 小时（第 5 分）", "every 2 hours at minute 5"],
    ["0 9-17 * * *", "按表达式 0 9-17 * * *", 'on "0 9-17 * * *"'],
    ["0 9 1-7 * 1", "分 0 · 时 9 · 日 1-7 · 月 * · 星期 1", "minute 0, hour 9, day 1-7, month *, weekday 1"],
  ])("%s", (cron, zh, en) => {
    expect(describeCron(cron, "zh")).toBe(zh);
    expect(describeCron(cron, "en")).toBe(en);
  });
});
