import { describe, expect, it } from "vitest";
import { ScheduleValidationError, validateSchedule } from "#functions/schedules/core.ts";
import { type CronError, nextRun, parseCron, toEventBridge } from "#functions/schedules/cron.ts";

const next = (cron: string, after: string) => nextRun(parseCron(cron), new Date(after)).toISOString();

describe("cron in a zone with daylight saving (America/New_York)", () => {
  const ny = (cron: string, after: string) =>
    nextRun(parseCron(cron), new Date(after), "America/New_York").toISOString();

  it("fires at 10:00 local on either side of a change: 14:00Z in summer, 15:00Z in winter", () => {
    // From a winter instant (EST, −5) to a summer firing (EDT, −4), and back.
    expect(ny("0 10 * * *", "2027-03-13T16:00:00Z")).toBe("2027-03-14T14:00:00.000Z");
    expect(ny("0 10 * * *", "2027-07-01T12:00:00Z")).toBe("2027-07-01T14:00:00.000Z");
    expect(ny("0 10 * * *", "2027-11-06T15:00:00Z")).toBe("2027-11-07T15:00:00.000Z");
    expect(ny("0 10 1 * *", "2027-02-15T00:00:00Z")).toBe("2027-03-01T15:00:00.000Z");
    expect(ny("0 10 1 * *", "2027-03-02T00:00:00Z")).toBe("2027-04-01T14:00:00.000Z");
  });

  it("skips a wall time the spring change removes, and fires once in the hour the autumn change repeats", () => {
    // 2027-03-14 02:30 does not exist in New York: the next 02:30 is the day after.
    expect(ny("30 2 * * *", "2027-03-14T05:00:00Z")).toBe("2027-03-15T06:30:00.000Z");
    // 2027-11-07 01:30 happens twice (EDT, then EST): the first, then the next day's.
    expect(ny("30 1 * * *", "2027-11-07T04:00:00Z")).toBe("2027-11-07T05:30:00.000Z");
    expect(ny("30 1 * * *", "2027-11-07T05:30:00Z")).toBe("2027-11-08T06:30:00.000Z");
  });
});

describe("cron in Asia/Shanghai", () => {
  it("fires monthly at 10:00 local on the 1st (02:00 UTC)", () => {
    expect(next("0 10 1 * *", "2027-03-01T02:00:00Z")).toBe("2027-04-01T02:00:00.000Z");
    expect(next("0 10 1 * *", "2027-03-01T01:59:00Z")).toBe("2027-03-01T02:00:00.000Z");
  });

  it("crosses the UTC date line: 07:30 local Monday is Sunday 23:30 UTC", () => {
    expect(next("30 7 * * MON", "2027-03-03T00:00:00Z")).toBe("2027-03-07T23:30:00.000Z");
  });

  it("handles steps, ranges, lists and names", () => {
    expect(next("*/15 9-17 * * 1-5", "2027-03-05T09:59:00Z")).toBe("2027-03-08T01:00:00.000Z"); // Fri 17:59 → Mon 09:00
    expect(next("0 12 * JAN,JUL *", "2027-03-01T00:00:00Z")).toBe("2027-07-01T04:00:00.000Z");
    expect(next("0 0 * * 7", "2027-03-01T00:00:00Z")).toBe(next("0 0 * * 0", "2027-03-01T00:00:00Z"));
  });

  it("skips months without the day (31st) and finds leap days", () => {
    expect(next("0 9 31 * *", "2027-04-01T00:00:00Z")).toBe("2027-05-31T01:00:00.000Z");
    expect(next("0 9 29 2 *", "2027-03-01T00:00:00Z")).toBe("2028-02-29T01:00:00.000Z");
  });

  it("refuses invalid expressions with every problem listed", () => {
    expect(() => parseCron("0 10 * *")).toThrow(/5 fields/);
    try {
      parseCron("61 25 0 13 *");
      expect.unreachable();
    } catch (err) {
      expect((err as CronError).problems.map((p) => p.split(":")[0])).toEqual([
        "minute",
        "hour",
        "day-of-month",
        "month",
      ]);
    }
    expect(() => parseCron("0 10 1 * MON")).toThrow(/not both/);
    expect(() => parseCron("0 10 5-1 * *")).toThrow(/empty range/);
    expect(() => nextRun(parseCron("0 0 31 2 *"), new Date())).toThrow(/never fires/);
  });

  it("translates to EventBridge Scheduler's six fields (? for the unused day, SUN=1)", () => {
    expect(toEventBridge(parseCron("0 10 1 * *"))).toBe("cron(0 10 1 * ? *)");
    expect(toEventBridge(parseCron("30 7 * * 1-5"))).toBe("cron(30 7 ? * 2-6 *)");
    expect(toEventBridge(parseCron("0 9 * * */2"))).toBe("cron(0 9 ? * */2 *)");
    expect(toEventBridge(parseCron("0 9 * * 0"))).toBe("cron(0 9 ? * 1 *)");
  });

  it("validates a schedule listing the cron's problems with the rest", () => {
    try {
      validateSchedule({ scheduleId: "bad id!", cron: "99 * * * *" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScheduleValidationError);
      const problems = (err as ScheduleValidationError).problems;
      expect(problems.some((p) => p.startsWith("scheduleId"))).toBe(true);
      expect(problems.some((p) => p.startsWith("campaignId"))).toBe(true);
      expect(problems.some((p) => p.startsWith("cron: minute"))).toBe(true);
    }
  });
});
