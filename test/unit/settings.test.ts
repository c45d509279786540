import { describe, expect, it } from "vitest";
import { settableClock } from "#platform/clock.ts";
import { Env, settingsFrom, tunablesFrom } from "#platform/env.ts";

describe("the composition root's settings", () => {
  it("take a Lambda's environment as CDK sets it", () => {
    const s = settingsFrom(
      Env.parse({
        TABLE_NAME: "t",
        TIERCAST_SECRET_ARN: "arn:secret",
        SMS_QUEUE_URL: "https://sqs/sms",
        LEASE_MS: "300000",
        SMS_REPLY_POINTERS: "true",
        TIERCAST_CONFIG: JSON.stringify({ shards: 8 }),
      }),
    );
    expect(s).toMatchObject({
      tableName: "t",
      secretArn: "arn:secret",
      queues: { sms: "https://sqs/sms" },
      leaseMs: 300_000,
      sweepAfterMs: 60_000,
      sms: { replyPointers: true },
      metrics: true,
    });
    expect(s.config.shards).toBe(8);
  });

  it("refuse a function without its table", () => {
    expect(() => settingsFrom(Env.parse({}))).toThrow("TABLE_NAME");
  });

  it("keep the runtime's own defaults unless the operator set a value", () => {
    const local = { leaseMs: 30_000, sweepAfterMs: 3_000 };
    expect(tunablesFrom(Env.parse({}), local)).toMatchObject(local);
    expect(tunablesFrom(Env.parse({ SWEEP_AFTER_MS: "1000" }), local).sweepAfterMs).toBe(1000);
  });

  it("read fault drills: workflow task counts and the SMS sink's faults", () => {
    const t = tunablesFrom(
      Env.parse({
        TIERCAST_TASK_FAULTS: "decidePage=2,awaitDispatch",
        TIERCAST_SMS_FAULTS: '{"failRate":0.1}',
      }),
    );
    expect(t.taskFaults).toEqual({ decidePage: 2, awaitDispatch: 1 });
    expect(t.smsFaults).toEqual({ failRate: 0.1 });
    expect(() => tunablesFrom(Env.parse({ TIERCAST_SMS_FAULTS: "fail" }))).toThrow("must be JSON");
  });
});

describe("the settable clock", () => {
  it("starts at the instant given, runs on, and moves when set", async () => {
    const clock = settableClock("2027-03-01T02:00:00.000Z");
    const first = clock.now().getTime();
    expect(first - Date.parse("2027-03-01T02:00:00.000Z")).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now().getTime()).toBeGreaterThan(first);
    clock.set("2027-03-02T00:00:00.000Z");
    expect(clock.now().toISOString().slice(0, 16)).toBe("2027-03-02T00:00");
  });
});
