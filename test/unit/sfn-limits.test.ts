import { describe, expect, it } from "vitest";
import {
  DataLimitExceededError,
  type ExecutionRecord,
  HistoryLimitExceededError,
  runStateMachine,
  START_CHILD_SYNC,
} from "#local/sfn.ts";

const FN = "arn:aws:lambda:us-east-1:000000000000:function:tiercast-page";
const CHILD = "arn:aws:states:us-east-1:000000000000:stateMachine:child";

/** A page loop like the launch's: a Lambda Task and a Choice, until the task says done. */
const pageLoop = {
  StartAt: "Page",
  States: {
    Page: { Type: "Task", Resource: FN, Next: "More?" },
    "More?": {
      Type: "Choice",
      Choices: [{ Variable: "$.done", BooleanEquals: true, Next: "Done" }],
      Default: "Page",
    },
    Done: { Type: "Succeed" },
  },
};

const pages =
  (n: number, extra: Record<string, unknown> = {}) =>
  async (input: unknown) => {
    const p = ((input as { p?: number }).p ?? 0) + 1;
    return { p, done: p >= n, ...extra };
  };

describe("the embedded interpreter counts history and payloads the way AWS does", () => {
  it("counts 7 events a page (Task 5, Choice 2), plus the execution's start and end and the Succeed", async () => {
    const executions: ExecutionRecord[] = [];
    await runStateMachine(pageLoop, {}, { [FN]: pages(3) }, { executions });
    expect(executions).toHaveLength(1);
    // ExecutionStarted + 3 × (TaskEntered, Scheduled, Started, Succeeded, Exited, ChoiceEntered, Exited)
    // + SucceedEntered, SucceedExited + ExecutionSucceeded.
    expect(executions[0]!.events).toBe(1 + 3 * 7 + 2 + 1);
  });

  it("adds a Scheduled, Started and Failed for every retried attempt", async () => {
    const retried = {
      ...pageLoop,
      States: {
        ...pageLoop.States,
        Page: { ...pageLoop.States.Page, Retry: [{ ErrorEquals: ["ThrottlingError"], MaxAttempts: 3 }] },
      },
    };
    let calls = 0;
    const flaky = async (input: unknown) => {
      if (calls++ === 0) throw Object.assign(new Error("slow down"), { name: "ThrottlingError" });
      return pages(1)(input);
    };
    const executions: ExecutionRecord[] = [];
    await runStateMachine(retried, {}, { [FN]: flaky }, { executions, retryIntervalMs: 1 });
    expect(executions[0]!.events).toBe(1 + 7 + 3 + 2 + 1);
  });

  it("fails an execution that passes the history limit", async () => {
    const executions: ExecutionRecord[] = [];
    const run = runStateMachine(
      pageLoop,
      {},
      { [FN]: pages(50) },
      { executions, limits: { historyEvents: 100 } },
    );
    await expect(run).rejects.toBeInstanceOf(HistoryLimitExceededError);
    await expect(run).rejects.toThrow(/passed 100 history events/);
    expect(executions[0]!.status).toBe("FAILED");
  });

  it("runs the same loop under the limit when it fits", async () => {
    const executions: ExecutionRecord[] = [];
    await runStateMachine(pageLoop, {}, { [FN]: pages(13) }, { executions, limits: { historyEvents: 100 } });
    expect(executions[0]).toMatchObject({ status: "SUCCEEDED", events: 1 + 13 * 7 + 3 });
  });

  it("fails an execution whose state output passes the payload limit (AWS's 256 KiB by default)", async () => {
    const big = "x".repeat(256 * 1024);
    const run = runStateMachine(pageLoop, {}, { [FN]: pages(1, { big }) });
    await expect(run).rejects.toBeInstanceOf(DataLimitExceededError);
    await expect(run).rejects.toThrow(/output of state Page is \d+ bytes \(limit 262144\)/);
  });

  it("takes a payload just under the limit", async () => {
    const fits = "x".repeat(256 * 1024 - 100);
    await expect(runStateMachine(pageLoop, {}, { [FN]: pages(1, { fits }) })).resolves.toMatchObject({
      done: true,
    });
  });

  describe("child executions (startExecution.sync:2)", () => {
    const parent = (name: string) => ({
      StartAt: "Child",
      States: {
        Child: {
          Type: "Task",
          Resource: START_CHILD_SYNC,
          Parameters: { StateMachineArn: CHILD, Name: name, "Input.$": "$" },
          OutputPath: "$.Output",
          End: true,
        },
      },
    });

    it("runs the child with its own history, and returns its output", async () => {
      const executions: ExecutionRecord[] = [];
      const out = await runStateMachine(
        parent("c-1"),
        {},
        { [FN]: pages(100) },
        {
          executions,
          machines: { [CHILD]: pageLoop },
          limits: { historyEvents: 800 },
        },
      );
      expect(out).toEqual({ p: 100, done: true });
      const child = executions.find((e) => e.machine === CHILD)!;
      expect(child).toMatchObject({ name: "c-1", events: 1 + 100 * 7 + 3 });
      // The parent: Started, Task (Entered, Scheduled, Started, Submitted, Succeeded, Exited), end.
      expect(executions.find((e) => e.machine !== CHILD)!.events).toBe(8);
    });

    it("refuses a child name already taken on that machine", async () => {
      const names = new Set<string>();
      const options = { machines: { [CHILD]: pageLoop }, names };
      await runStateMachine(parent("same"), {}, { [FN]: pages(1) }, options);
      await expect(runStateMachine(parent("same"), {}, { [FN]: pages(1) }, options)).rejects.toThrow(
        /child execution same failed|already exists/,
      );
    });
  });
});
