import { existsSync } from "node:fs";
import { hostname } from "node:os";
import type { Actor } from "#functions/access/users.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import type { Runtime } from "#local/runtime.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { UsageError } from "#platform/errors.ts";
import type { GlobalOptions } from "./output.ts";

/**
 * The commands' code (the runtime, the SDK, zod), loaded by the preAction hook once a command is
 * about to run: `--help`, `--version` and usage errors start without it.
 */
export let lib: typeof import("./commands.ts");
export async function loadCommands(): Promise<void> {
  lib ??= await import("./commands.ts");
}

export function parseAt(at: string | undefined): Date | undefined {
  if (at === undefined) return undefined;
  const t = lib.parseInstant(at, { dateOnly: true });
  if (!t)
    throw new UsageError(
      `--at: not an ISO-8601 instant on a day that exists: ${at} (e.g. 2027-03-01T10:00:00+08:00)`,
    );
  return t;
}

export function configFor(options: GlobalOptions): TiercastConfig {
  const path = options.config ?? (existsSync("tiercast.config.json") ? "tiercast.config.json" : undefined);
  return lib.loadConfig(path);
}

/** Runs `fn` against the embedded runtime on the data dir and always stops the servers. */
export async function withRuntime<T>(
  options: GlobalOptions,
  fn: (runtime: Runtime, now: () => Date) => Promise<T>,
) {
  const config = configFor(options);
  const at = parseAt(options.at);
  const runtime = await lib.startRuntime({ dataDir: options.dataDir, config, at });
  try {
    return await fn(runtime, runtime.clock.now);
  } finally {
    await runtime.stop();
  }
}

/** Who the CLI acts as: whoever runs it on this machine, head office (no branch), with every role's rights. */
export function localOperator(): Actor {
  return { userId: `operator@${hostname()}`, role: "admin" };
}

/** The use cases' dependencies on the embedded runtime: the same use cases the API calls. */
export function useCaseDeps(runtime: Runtime, now: () => Date): UseCaseDeps {
  return {
    repo: runtime.repo,
    config: runtime.config,
    secret: runtime.secret,
    now,
    auditAnchor: lib.localAuditAnchor(runtime),
  };
}
