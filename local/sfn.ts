// aws-local-stepfunctions uses Promise.withResolvers (Node 22); this is the whole polyfill for Node 20.
if (!("withResolvers" in Promise)) {
  Object.defineProperty(Promise, "withResolvers", {
    value<T>() {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
const { StateMachine } = await import("aws-local-stepfunctions");

export type TaskHandler = (input: unknown) => Promise<unknown>;

/** The Task resource of a child execution the parent waits for (JSON output). */
export const START_CHILD_SYNC = "arn:aws:states:::states:startExecution.sync:2";

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
  Branches?: { States: Record<string, AslState> }[];
}
type Asl = { States: Record<string, AslState> };

/** Step Functions Standard's per-execution quotas (history events; a state's input or output, UTF-8). */
export interface WorkflowLimits {
  historyEvents: number;
  payloadBytes: number;
}
export const AWS_WORKFLOW_LIMITS: WorkflowLimits = { historyEvents: 25_000, payloadBytes: 256 * 1024 };

/** An execution passed the 25,000-event history quota; AWS fails it, and so does the embedded runtime. */
export class HistoryLimitExceededError extends Error {
  override name = "HistoryLimitExceededError";
}
/** A state's input or output passed 256 KiB (AWS: States.DataLimitExceeded, which no Catch takes). */
export class DataLimitExceededError extends Error {
  override name = "States.DataLimitExceeded";
}

/** What one execution cost, counted the way AWS counts its history. */
export interface ExecutionRecord {
  machine: string;
  name: string;
  status: "SUCCEEDED" | "FAILED";
  events: number;
  maxPayloadBytes: number;
}

/** Every Task state (at any depth) with the resource it invokes. */
export function taskStates(asl: Asl): { name: string; resource: string }[] {
  return allStates(asl)
    .filter(([, s]) => s.Type === "Task" && s.Resource)
    .map(([name, s]) => ({ name, resource: s.Resource! }));
}

function allStates(asl: Asl): [string, AslState][] {
  const out: [string, AslState][] = [];
  const walk = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      out.push([name, state]);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) walk(inner.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(asl.States);
  return out;
}

/**
 * History events AWS records, per state type (Standard workflows): a Lambda Task is Entered,
 * Scheduled, Started, Succeeded|Failed, Exited (each retry another Scheduled, Started, Failed); a
 * startExecution.sync Task adds Submitted; a Map is Entered, Started, Succeeded, Exited with an
 * IterationStarted and IterationSucceeded per item; Pass, Choice, Wait, Succeed are Entered and
 * Exited; a Fail is Entered (then ExecutionFailed); the execution adds Started and its end.
 */
export function historyCounter(asl: Asl) {
  const attemptEvents = new Map<string, number>();
  for (const [name, s] of allStates(asl))
    if (s.Type === "Task") attemptEvents.set(name, s.Resource === START_CHILD_SYNC ? 4 : 3);
  return (event: { type: string; state?: { name: string; type: string } }): number => {
    const state = event.state;
    switch (event.type) {
      case "ExecutionStarted":
      case "ExecutionSucceeded":
      case "ExecutionFailed":
      case "ExecutionAborted":
      case "ExecutionTimeout":
      case "MapIterationStarted":
      case "MapIterationSucceeded":
      case "MapIterationFailed":
      case "ParallelBranchStarted":
      case "ParallelBranchSucceeded":
      case "ParallelBranchFailed":
        return 1;
      case "StateEntered":
        if (state?.type === "Task") return 1 + (attemptEvents.get(state.name) ?? 3);
        if (state?.type === "Map" || state?.type === "Parallel") return 2;
        return 1;
      case "StateExited":
        return state?.type === "Map" || state?.type === "Parallel" ? 2 : 1;
      case "StateRetried":
        return state?.type === "Task" ? (attemptEvents.get(state.name) ?? 3) : 0;
      default:
        return 0;
    }
  };
}

export interface RunOptions {
  waitOverridesMs?: Record<string, number>;
  retryIntervalMs?: number;
  /** Lower limits for tests; AWS's by default. */
  limits?: Partial<WorkflowLimits>;
  /** Child state machines a startExecution.sync Task may start, by ARN. */
  machines?: Record<string, Record<string, unknown>>;
  /** Execution names taken per state machine (names are unique per machine, as on AWS). */
  names?: Set<string>;
  /** Every execution run (parent and children), appended as each closes. */
  executions?: ExecutionRecord[];
  machineArn?: string;
  name?: string;
}

// A definition is validated once (the launch starts a child per chunk of pages).
const machines = new WeakMap<object, InstanceType<typeof StateMachine>>();
function machineFor(asl: Record<string, unknown>) {
  let machine = machines.get(asl);
  if (!machine) {
    machine = new StateMachine(asl as never, { validationOptions: { checkPaths: true, checkArn: true } });
    machines.set(asl, machine);
  }
  return machine;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null), "utf8");

/**
 * Executes the synthesized ASL with the interpreter, each Lambda Task bound (by its ARN) to the real
 * handler and each startExecution.sync Task to a child execution of the named machine, run the same
 * way. Every execution counts its history events and payload sizes the way AWS does and fails when
 * it passes either quota, so a workflow that would fail on AWS fails here too.
 */
export async function runStateMachine(
  asl: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  options: RunOptions = {},
): Promise<unknown> {
  const limits = { ...AWS_WORKFLOW_LIMITS, ...options.limits };
  options.names ??= new Set();
  const machineArn =
    options.machineArn ?? "arn:aws:states:us-east-1:000000000000:stateMachine:tiercast-launch";
  const name = options.name ?? crypto.randomUUID();
  const tasks = taskStates(asl as Asl);
  const local: Record<string, TaskHandler> = {};
  const retryIntervals: Record<string, number> = {};
  for (const { name: state, resource } of tasks) {
    const handler =
      resource === START_CHILD_SYNC
        ? (event: unknown) => startChild(event, handlers, options)
        : handlers[resource];
    if (!handler) throw new Error(`no local handler for ${resource} (state ${state})`);
    local[state] = handler;
    if (options.retryIntervalMs !== undefined) retryIntervals[state] = options.retryIntervalMs;
  }
  const machine = machineFor(asl);
  const executionId = `${machineArn.replace(":stateMachine:", ":execution:")}:${name}`;
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: local as never,
      waitTimeOverrides: options.waitOverridesMs ?? {},
      retryIntervalOverrides: retryIntervals,
    },
    context: {
      Execution: { Id: executionId, Name: name, Input: input as never, StartTime: new Date().toISOString() },
    },
  });

  const count = historyCounter(asl as Asl);
  let events = 0;
  let maxPayloadBytes = bytes(input);
  let violation: Error | undefined;
  const fail = (err: Error) => {
    if (violation) return;
    violation = err;
    execution.abort();
  };
  if (maxPayloadBytes > limits.payloadBytes)
    throw new DataLimitExceededError(
      `execution input is ${maxPayloadBytes} bytes (limit ${limits.payloadBytes})`,
    );
  const counting = (async () => {
    for await (const event of execution.eventLogs) {
      events += count(event as never);
      if (events > limits.historyEvents)
        fail(
          new HistoryLimitExceededError(
            `execution ${name} passed ${limits.historyEvents} history events (at state ${(event as { state?: { name: string } }).state?.name ?? event.type})`,
          ),
        );
      const state = (event as { state?: { name: string; input?: unknown; output?: unknown } }).state;
      if (state && (event.type === "StateEntered" || event.type === "StateExited")) {
        const size = bytes(event.type === "StateEntered" ? state.input : state.output);
        maxPayloadBytes = Math.max(maxPayloadBytes, size);
        if (size > limits.payloadBytes)
          fail(
            new DataLimitExceededError(
              `the ${event.type === "StateEntered" ? "input" : "output"} of state ${state.name} is ${size} bytes (limit ${limits.payloadBytes})`,
            ),
          );
      }
    }
  })();
  const record = (status: ExecutionRecord["status"]) =>
    options.executions?.push({ machine: machineArn, name, status, events, maxPayloadBytes });
  try {
    const output = await execution.result;
    await counting;
    if (violation) throw violation;
    record("SUCCEEDED");
    return output;
  } catch (err) {
    await counting.catch(() => undefined);
    record("FAILED");
    throw violation ?? err;
  }
}

/** startExecution.sync:2: start the named child (a name already taken on that machine is refused) and wait. */
async function startChild(event: unknown, handlers: Record<string, TaskHandler>, options: RunOptions) {
  const { StateMachineArn, Name, Input } = event as { StateMachineArn: string; Name: string; Input: unknown };
  const asl = options.machines?.[StateMachineArn];
  if (!asl) throw new Error(`no local state machine ${StateMachineArn}`);
  const key = `${StateMachineArn}#${Name}`;
  if (options.names?.has(key)) {
    const err = new Error(`execution ${Name} already exists on ${StateMachineArn}`);
    err.name = "StepFunctions.ExecutionAlreadyExistsException";
    throw err;
  }
  options.names?.add(key);
  const startDate = Date.now();
  try {
    const output = await runStateMachine(asl, Input, handlers, {
      ...options,
      machineArn: StateMachineArn,
      name: Name,
    });
    return {
      ExecutionArn: `${StateMachineArn.replace(":stateMachine:", ":execution:")}:${Name}`,
      Name,
      Status: "SUCCEEDED",
      StartDate: startDate,
      StopDate: Date.now(),
      Output: output,
    };
  } catch (err) {
    // The parent sees its child's failure as States.TaskFailed, with the child's error as the cause.
    const e = err as Error;
    const failed = new Error(`child execution ${Name} failed: ${e.name}: ${e.message}`);
    failed.name = "States.TaskFailed";
    throw failed;
  }
}
