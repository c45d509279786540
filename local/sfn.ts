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

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
  Branches?: { States: Record<string, AslState> }[];
}

/** Every Task state (at any depth) with the Lambda ARN it invokes. */
export function taskStates(asl: { States: Record<string, AslState> }): { name: string; resource: string }[] {
  const out: { name: string; resource: string }[] = [];
  const walk = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === "Task" && state.Resource) out.push({ name, resource: state.Resource });
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) walk(inner.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(asl.States);
  return out;
}

/**
 * Executes the synthesized ASL with the interpreter, each Task state bound (by its Lambda ARN) to the
 * real handler. Wait states can be shortened for the embedded runtime.
 */
export async function runStateMachine(
  asl: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  options: { waitOverridesMs?: Record<string, number>; retryIntervalMs?: number } = {},
): Promise<unknown> {
  const tasks = taskStates(asl as { States: Record<string, AslState> });
  const local: Record<string, TaskHandler> = {};
  const retryIntervals: Record<string, number> = {};
  for (const { name, resource } of tasks) {
    const handler = handlers[resource];
    if (!handler) throw new Error(`no local handler for ${resource} (state ${name})`);
    local[name] = handler;
    if (options.retryIntervalMs !== undefined) retryIntervals[name] = options.retryIntervalMs;
  }
  const machine = new StateMachine(asl as never, { validationOptions: { checkPaths: true, checkArn: true } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: local as never,
      waitTimeOverrides: options.waitOverridesMs ?? {},
      retryIntervalOverrides: retryIntervals,
    },
  });
  return execution.result;
}
