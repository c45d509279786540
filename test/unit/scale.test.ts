import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ExecutionRecord, runStateMachine } from "#local/sfn.ts";
import { LOCAL_ARN_PREFIX, LOCAL_SHARD_MACHINE_ARN } from "#workflows/launch-campaign/arn.ts";
import launchAsl from "#workflows/launch-campaign/launch-campaign.asl.json" with { type: "json" };
import shardAsl from "#workflows/launch-campaign/launch-shard.asl.json" with { type: "json" };
import {
  ASSUMPTIONS,
  launchExecutionEvents,
  MEASURED,
  pollsFor,
  scaleMarkdown,
  scaleModel,
  shardExecutionEvents,
} from "../../infra/scale/model.ts";

const base = { customers: 10_000_000, smsMps: 500, audienceShare: 0.41, sendShare: 0.65 };

/** The committed launch ASL with stand-in handlers: `pages` pages per task, `polls` dispatch polls. */
async function countLaunch(tasks: number, pagesPerTask: number, budget: number, polls: number) {
  const executions: ExecutionRecord[] = [];
  let polled = 0;
  const handlers = {
    [`${LOCAL_ARN_PREFIX}validate`]: async () => ({
      campaignId: "c",
      at: "2027-01-01T00:00:00Z",
      run: "r",
      pagesPerExecution: budget,
      tasks: Array.from({ length: tasks }, (_, shard) => ({ tier: "mass", shard })),
    }),
    [`${LOCAL_ARN_PREFIX}decidePage`]: async (input: unknown) => {
      const i = input as { pages: number; budget: number };
      const pages = i.pages + 1;
      return { ...i, pages, budget: i.budget - 1, done: pages >= pagesPerTask, cursor: `k${pages}` };
    },
    [`${LOCAL_ARN_PREFIX}awaitDispatch`]: async () => ({
      inFlight: ++polled < polls ? 1 : 0,
      waitSeconds: 0,
    }),
    [`${LOCAL_ARN_PREFIX}finalize`]: async () => ({ status: "SUCCEEDED" }),
  };
  await runStateMachine(launchAsl as Record<string, unknown>, { campaignId: "c" }, handlers, {
    machines: { [LOCAL_SHARD_MACHINE_ARN]: shardAsl as Record<string, unknown> },
    executions,
    waitOverridesMs: { WaitForWorkers: 0 },
  });
  return executions;
}

describe("scale and cost model", () => {
  it("counts history the way the embedded interpreter counts the committed ASL", async () => {
    // 3 tasks of 5 pages, 2 pages per child: 3 children per task; 4 polls.
    const executions = await countLaunch(3, 5, 2, 4);
    const children = executions.filter((e) => e.machine === LOCAL_SHARD_MACHINE_ARN);
    expect(children).toHaveLength(9);
    expect(children.map((c) => c.events).sort()).toEqual(
      [...Array(6).fill(shardExecutionEvents(2)), ...Array(3).fill(shardExecutionEvents(1))].sort(),
    );
    const parent = executions.find((e) => e.machine !== LOCAL_SHARD_MACHINE_ARN)!;
    expect(parent.events).toBe(launchExecutionEvents([3, 3, 3], 4));
    expect(MEASURED.historyEventsPerPage).toBe(7);
  }, 60_000);

  it("derives pages, child executions, messages and duration from the real settings", () => {
    const m = scaleModel(base);
    expect(m.audience).toBe(4_100_000);
    expect(m.sends).toBe(2_665_000);
    expect(m.pages).toBe(Math.ceil(4_100_000 / 32 / 1000) * 32);
    expect(m.stepFunctions.childExecutions).toBe(32);
    expect(m.messages).toBe(266_500);
    expect(m.totalSeconds).toBe(Math.round(2_665_000 / 500 + ASSUMPTIONS.firstSendSeconds));
    expect(m.secondsAt1000Mps).toBeLessThan(m.secondsAt100Mps);
    expect(m.sqsRequests).toBe(Math.ceil(266_500 / 10) * 3);
  });

  it("keeps every execution under 25,000 events at 100M customers, even one tier of 80M", () => {
    const m = scaleModel({ ...base, customers: 100_000_000 });
    expect(m.stepFunctions.maxEventsPerExecution).toBeLessThan(25_000);
    const oneTier = scaleModel({ ...base, customers: 100_000_000, audienceShare: 0.8, tiers: 1 });
    expect(oneTier.stepFunctions.childExecutions).toBeGreaterThan(16);
    expect(oneTier.stepFunctions.maxChildEvents).toBe(shardExecutionEvents(2_000));
    expect(oneTier.stepFunctions.maxEventsPerExecution).toBeLessThan(25_000);
  });

  it("backs the dispatch poll off, so a day of sending costs hundreds of polls, not thousands", () => {
    expect(pollsFor(60)).toBeLessThanOrEqual(8);
    expect(pollsFor(86_400)).toBeLessThan(400);
  });

  it("prices a million messages as the sum of the parts, at today's DynamoDB prices", () => {
    const m = scaleModel(base);
    const sum = Object.values(m.costUsd).reduce((a, b) => a + b, 0);
    expect(m.costPerMillionMessagesUsd).toBeCloseTo((sum / m.sends) * 1e6, 0);
    expect(ASSUMPTIONS.prices.writeRequestPerMillion).toBe(0.625);
    expect(m.dynamodb.writeUnitsPerSend).toBe(
      Object.values(m.dynamodb.writesPerSend).reduce((a, b) => a + b, 0),
    );
    expect(m.costUsd.dynamodb!).toBeGreaterThan(m.costUsd.lambda!);
    expect(m.fixedMonthlyUsd).toBeGreaterThan(0);
  });

  it("writes per send the items the bench measured, plus what only DynamoDB writes", () => {
    // At the bench's own send share, the launch's items (decide's rows, claims, settles, slots,
    // contact claims, counters) add up to the bench's whole-launch count.
    const benchShare = 5_047 / 7_784;
    const launchItems =
      1 / benchShare + Object.values(MEASURED.launchItemWritesPerSend).reduce((a, b) => a + b, 0);
    expect(launchItems).toBeCloseTo(MEASURED.storeItemWritesPerSend, 1);
    const m = scaleModel({ ...base, sendShare: benchShare });
    const dynamoOnly = 1 + 2 + 1; // the work-index entry put, rewritten and removed; the reply pointer
    const events =
      Object.values(MEASURED.itemWritesPerEvent).reduce((a, b) => a + b, 0) * MEASURED.eventsPerSend;
    expect(m.dynamodb.writeUnitsPerSend).toBeCloseTo(
      MEASURED.storeItemWritesPerSend + dynamoOnly + events,
      1,
    );
  });

  it("is committed as docs/scale.md exactly as the model prints it", () => {
    const committed = readFileSync(new URL("../../docs/scale.md", import.meta.url), "utf8");
    expect(committed).toBe(scaleMarkdown(scaleModel(base), scaleModel({ ...base, customers: 100_000_000 })));
  });
});
