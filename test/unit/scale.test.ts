import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ASSUMPTIONS, scaleMarkdown, scaleModel } from "../../infra/scale/model.ts";

const base = { customers: 10_000_000, smsMps: 500, audienceShare: 0.41, sendShare: 0.65 };

describe("scale and cost model", () => {
  it("derives pages, messages and duration from the real settings", () => {
    const m = scaleModel(base);
    expect(m.audience).toBe(4_100_000);
    expect(m.sends).toBe(2_665_000);
    expect(m.pages).toBe(Math.ceil(4_100_000 / 1000) + 2 * 16);
    expect(m.messages).toBe(266_500);
    expect(m.totalSeconds).toBe(Math.round(2_665_000 / 500 + ASSUMPTIONS.firstSendSeconds));
    expect(m.sqsRequests).toBe(Math.ceil(266_500 / 10) * 3);
  });

  it("prices a million messages as the sum of the parts", () => {
    const m = scaleModel(base);
    const sum = Object.values(m.costUsd).reduce((a, b) => a + b, 0);
    expect(m.costPerMillionMessagesUsd).toBeCloseTo((sum / m.sends) * 1e6, 0);
    expect(m.costUsd.dynamodb!).toBeGreaterThan(m.costUsd.lambda!);
  });

  it("keeps a 1M-customer launch in one execution, and sizes pages so a 10M one fits", () => {
    expect(scaleModel({ ...base, customers: 1_000_000 }).fitsOneExecution).toBe(true);
    const big = scaleModel(base);
    expect(big.fitsOneExecution).toBe(false);
    expect(big.stepFunctions.historyEvents).toBeGreaterThan(20_000);
    const resized = scaleModel({ ...base, pageSize: big.recommendedPageSize });
    expect(resized.fitsOneExecution).toBe(true);
    expect(resized.stepFunctions.historyEvents).toBeLessThanOrEqual(20_000);
  });

  it("is committed as docs/scale.md exactly as the model prints it", () => {
    const committed = readFileSync(new URL("../../docs/scale.md", import.meta.url), "utf8");
    expect(committed).toBe(scaleMarkdown(scaleModel(base)));
  });
});
