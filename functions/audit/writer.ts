import type { LambdaClient } from "@aws-sdk/client-lambda";
import { z } from "zod";
import type { AuditEntry, StoredAuditEntry } from "./chain.ts";
import { type AuditDeps, type AuditWriter, appendHere } from "./store.ts";

/**
 * The audit writer: on AWS a function of its own whose role alone may put AUDIT# keys (every other
 * role is denied any write to them, infra/constructs/table-access.ts). The API, the scheduler and the
 * launch's Finalize step invoke it synchronously (RequestResponse) with one entry and get the stored
 * entry back; it appends with the same code as the embedded runtime (appendHere: the HMAC chain, the
 * head that only moves forward, the anchor in this function's log).
 */

const ENTITIES = [
  "campaign",
  "schedule",
  "user",
  "import",
  "events",
  "target",
  "customer",
  "task",
  "reward",
  "plan",
  "indicator",
  "books",
] as const satisfies readonly AuditEntry["entity"][];

/** What the writer accepts: one entry, with the shape every use case builds (anything else is refused). */
export const AuditWriteRequest = z.object({
  entry: z.object({
    entity: z.enum(ENTITIES),
    entityId: z.string().min(1).max(256),
    action: z.string().min(1).max(64),
    actor: z.object({
      userId: z.string().min(1).max(256),
      role: z.string().min(1).max(64),
      branchId: z.string().max(64).optional(),
    }),
    at: z.string().min(1).max(40),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    note: z.string().max(2000).optional(),
    onceKey: z.string().max(256).optional(),
  }),
});

export type AuditWriteAnswer = { ok: true; stored: StoredAuditEntry } | { ok: false; error: string };

/** The writer's core: validates the request and appends it here. */
export async function writeAudit(deps: AuditDeps, request: unknown): Promise<AuditWriteAnswer> {
  const parsed = AuditWriteRequest.safeParse(request);
  if (!parsed.success)
    return {
      ok: false,
      error: `bad audit entry: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    };
  const { auditWriter: _ignored, ...here } = deps;
  return { ok: true, stored: await appendHere(here, parsed.data.entry as AuditEntry) };
}

/** The port on AWS: a synchronous invoke of the AuditWriter function. */
export function lambdaAuditWriter(functionName: string, client?: () => Promise<LambdaClient>): AuditWriter {
  let lambda: Promise<LambdaClient> | undefined;
  const get = () => {
    lambda ??= (
      client ??
      (async () => {
        const { LambdaClient } = await import("@aws-sdk/client-lambda");
        // One attempt: a retry after a lost answer could append the entry twice.
        return new LambdaClient({ maxAttempts: 1 });
      })
    )().catch((err: unknown) => {
      lambda = undefined;
      throw err;
    });
    return lambda;
  };
  return {
    async append(entry) {
      const { InvokeCommand } = await import("@aws-sdk/client-lambda");
      const out = await (await get()).send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: "RequestResponse",
          Payload: new TextEncoder().encode(JSON.stringify({ entry })),
        }),
      );
      const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
      if (out.FunctionError)
        throw new Error(`the audit writer failed (${out.FunctionError}): ${text.slice(0, 300)}`);
      let answer: AuditWriteAnswer;
      try {
        answer = JSON.parse(text) as AuditWriteAnswer;
      } catch {
        throw new Error(`the audit writer answered something unreadable: ${text.slice(0, 120)}`);
      }
      if (!answer.ok) throw new Error(answer.error);
      return answer.stored;
    },
  };
}
