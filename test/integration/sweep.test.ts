import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addCounters, counterSk } from "#functions/funnel/counters.ts";
import { awaitDispatch, type DispatchProgress, type LaunchDeps } from "#functions/launch/core.ts";
import { inflightIndex } from "#functions/ledger/rows.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { parseConfig } from "#platform/config.ts";
import type { DispatchMessage } from "#platform/queue.ts";
import { key } from "#platform/table.ts";

let runtime: Runtime;
const config = parseConfig({ shards: 2 });

function depsAt(clock: { t: number }, enqueued: DispatchMessage[]): LaunchDeps {
  return {
    repo: runtime.repo,
    config,
    secret: "s".repeat(32),
    now: () => new Date(clock.t),
    enqueue: async (_channel, messages) => {
      enqueued.push(...messages);
    },
    sweepAfterMs: 1000,
  };
}

async function queuedRows(campaignId: string, n: number) {
  for (let i = 0; i < n; i++) {
    const customerId = `C${String(i).padStart(4, "0")}`;
    await runtime.repo.put({
      ...key.ledger(campaignId, 0, customerId),
      ...inflightIndex(campaignId, 0, customerId),
      campaignId,
      customerId,
      shard: 0,
      tier: "potential",
      channel: "sms",
      variant: "A",
      decision: "queued",
      stage: 1,
    });
  }
}

describe("AwaitDispatch's sweep of in-flight rows", () => {
  beforeAll(async () => {
    runtime = await startRuntime({ config });
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  /** 25 queued rows of a campaign and AwaitDispatch's first look at them, on a clock the test moves. */
  async function backlog(campaignId: string) {
    await queuedRows(campaignId, 25);
    const clock = { t: Date.parse("2027-03-01T02:00:00Z") };
    const enqueued: DispatchMessage[] = [];
    const deps = depsAt(clock, enqueued);
    const progress: DispatchProgress = await awaitDispatch({ campaignId }, deps);
    return { clock, enqueued, deps, progress };
  }

  it("re-enqueues queued rows when nothing moved for the sweep interval (a lost message)", async () => {
    const { clock, enqueued, deps, progress: first } = await backlog("stuck");
    let progress = first;
    clock.t += 1500;
    progress = await awaitDispatch({ campaignId: "stuck", dispatch: progress }, deps);
    expect(progress.swept).toBe(25);
    expect(enqueued.flatMap((m) => m.recipients)).toHaveLength(25);
  });

  it("leaves a long backlog alone while sends progress, even if each shard's first row waits its turn", async () => {
    const { clock, enqueued, deps, progress: first } = await backlog("busy");
    let progress = first;
    for (let round = 0; round < 3; round++) {
      // Other recipients of the campaign are being sent meanwhile.
      await addCounters(
        runtime.repo,
        "busy",
        new Map([[counterSk({ tier: "potential", variant: "A", channel: "sms" }, "2027-03-01", "sent"), 7]]),
      );
      clock.t += 1500;
      progress = await awaitDispatch({ campaignId: "busy", dispatch: progress }, deps);
      expect(progress.swept).toBeUndefined();
    }
    expect(enqueued).toHaveLength(0);
  });
});
