import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { pacer, throttleDelaySeconds } from "#functions/dispatch/core.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * Issue 21, "the provider rate is per container": throttled messages waited out the visibility
 * timeout and reached the DLQ after a few receives, failing recipients a slower pace would have
 * sent. Now a throttled recipient goes back as a new, delayed message (its receive count untouched)
 * and the container slows down; each container paces to its share of the account's rate.
 */
const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let dispatch: DispatchServices;

describe("a provider that throttles hard", () => {
  beforeAll(async () => {
    runtime = await localBank(
      2_000,
      new Date("2027-02-28T00:00:00Z"),
      {},
      { smsTimeoutMs: 2000, leaseMs: 5000, sweepAfterMs: 3000, throttleDelaySeconds: 0.2 },
    );
    setClock(runtime, AT);
    // Two receives before the DLQ: with throttles returned to the queue, a third of the recipients
    // throttled twice in a row would fail.
    dispatch = await startDispatch(runtime, {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
      smsFaults: { throttleRate: 0.5, seed: 7 },
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it("sends every recipient once, none failed and none dead-lettered", { timeout: 300_000 }, async () => {
    const campaign = parseCampaign(
      { ...readCampaignFile("examples/referral-drive.json", runtime.config), campaignId: "throttled" },
      runtime.config,
    );
    const result = await launchCampaign(runtime, campaign, new Date(AT));
    expect(result.status).toBe("SUCCEEDED");
    const rows = await ledgerRows(runtime, "throttled");
    const failed = rows.filter((r) => r.decision === "failed");
    expect(failed.map((r) => r.reason)).toEqual([]);
    const sent = rows.filter((r) => r.decision === "sent");
    expect(sent.length).toBeGreaterThan(100);
    // The gateway throttled about half the attempts, so many recipients took several.
    expect(sent.filter((r) => (r.attempts ?? 0) > 2).length).toBeGreaterThan(10);
    const tags = dispatch.sms.messages.map((m) => m.tag).filter((t) => t.startsWith("throttled#"));
    expect(new Set(tags).size).toBe(tags.length);
    expect(tags.length).toBe(sent.length);
  });

  it("paces to half the share for a while after a throttle, and backs off exponentially", async () => {
    const pace = pacer({ sms: 100 });
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) await pace("sms");
    const normal = performance.now() - t0;
    pace.throttled?.("sms");
    const t1 = performance.now();
    for (let i = 0; i < 10; i++) await pace("sms");
    const slowed = performance.now() - t1;
    expect(slowed).toBeGreaterThan(normal * 1.5);
    expect(throttleDelaySeconds(1)).toBeLessThanOrEqual(6);
    expect(throttleDelaySeconds(4)).toBeGreaterThanOrEqual(32);
    expect(throttleDelaySeconds(30)).toBeLessThanOrEqual(900);
    expect(throttleDelaySeconds(30)).toBeGreaterThanOrEqual(700);
  });
});
