import { launchHandlers } from "#functions/launch/handler.ts";
import { LOCAL_ARN_PREFIX, LOCAL_SHARD_MACHINE_ARN } from "#workflows/launch-campaign/arn.ts";
import asl from "#workflows/launch-campaign/launch-campaign.asl.json" with { type: "json" };
import shardAsl from "#workflows/launch-campaign/launch-shard.asl.json" with { type: "json" };
import { lambdaContext } from "./poller.ts";
import type { Runtime } from "./runtime.ts";
import { type ExecutionRecord, runStateMachine, type TaskHandler } from "./sfn.ts";

// Execution names are unique per state machine (as on AWS): taken names are kept per runtime.
const takenNames = new WeakMap<Runtime, Set<string>>();

type MiddyHandler = (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/**
 * Runs the launch workflow: the very ASL CDK synthesizes (committed, and checked against a fresh
 * synthesis by a test), each Task bound to the real handler. Waits are shortened for local time.
 */
export async function runLaunchWorkflow(
  runtime: Runtime,
  input: { campaignId: string; at?: string },
  options: { waitMs?: number; executions?: ExecutionRecord[] } = {},
) {
  // The app as it is now: after the messaging half has started, the one with the queues.
  const handlers = launchHandlers(() => runtime.app);
  // Fault injection for tests and drills: taskFaults {decidePage: 2} (TIERCAST_TASK_FAULTS="decidePage=2")
  // fails the first two decidePage invocations with a ThrottlingError, which the workflow's Retry must absorb.
  const faults = new Map(Object.entries(runtime.settings.taskFaults));
  const bind =
    (name: string, fn: MiddyHandler): TaskHandler =>
    async (event) => {
      const left = faults.get(name) ?? 0;
      if (left > 0) {
        faults.set(name, left - 1);
        const err = new Error(`injected fault in ${name}`);
        err.name = "ThrottlingError";
        throw err;
      }
      return fn(event as never, lambdaContext(`tiercast-${name}`));
    };
  const tasks: Record<string, TaskHandler> = {
    [`${LOCAL_ARN_PREFIX}validate`]: bind("validate", handlers.validate as unknown as MiddyHandler),
    [`${LOCAL_ARN_PREFIX}decidePage`]: bind("decidePage", handlers.decide as unknown as MiddyHandler),
    [`${LOCAL_ARN_PREFIX}awaitDispatch`]: bind(
      "awaitDispatch",
      handlers.awaitWorkers as unknown as MiddyHandler,
    ),
    [`${LOCAL_ARN_PREFIX}finalize`]: bind("finalize", handlers.finalize as unknown as MiddyHandler),
  };
  try {
    const names = takenNames.get(runtime) ?? new Set<string>();
    takenNames.set(runtime, names);
    return await runStateMachine(asl as Record<string, unknown>, input, tasks, {
      waitOverridesMs: { WaitForWorkers: options.waitMs ?? 100 },
      retryIntervalMs: 50,
      machines: { [LOCAL_SHARD_MACHINE_ARN]: shardAsl as Record<string, unknown> },
      names,
      limits: runtime.workflowLimits,
      ...(options.executions ? { executions: options.executions } : {}),
    });
  } catch (err) {
    // The workflow's failure branch has already recorded the summary on the campaign; report it.
    const e = err as Error & { cause?: unknown };
    return {
      campaignId: input.campaignId,
      status: "FAILED",
      error: `${e.message}${e.cause ? `: ${String(e.cause)}` : ""}`,
    };
  }
}
