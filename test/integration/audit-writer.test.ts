import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "#functions/app.ts";
import type { AuditEntry } from "#functions/audit/chain.ts";
import { type AuditDeps, appendAudit, readAudit, verifyAudit } from "#functions/audit/store.ts";
import { lambdaAuditWriter, writeAudit } from "#functions/audit/writer.ts";
import { addUserAs } from "#functions/usecases/users.ts";
import { type Runtime, startRuntime } from "#local/runtime.ts";
import { parseConfig } from "#platform/config.ts";
import { Env, settingsFrom } from "#platform/env.ts";

// The audit owner appends through a port: in process locally; on AWS by invoking the AuditWriter
// function, whose role alone may put AUDIT# keys. Here the invoke's transport is mocked; the function's
// side is the real writer (writeAudit) on the embedded store, behind the real JSON hop.
const lambda = mockClient(LambdaClient);
let runtime: Runtime;
let here: AuditDeps;
let invoked: number;

const entry = (entityId: string, n: number): AuditEntry => ({
  entity: "campaign",
  entityId,
  action: `step-${n}`,
  actor: { userId: "mia", role: "marketer" },
  at: new Date(Date.UTC(2027, 2, 1, 2, n)).toISOString(),
  after: { n },
});

/** The AuditWriter function, as Lambda runs it: the payload's JSON in, the answer's JSON out. */
function wireFunction() {
  invoked = 0;
  lambda.on(InvokeCommand).callsFake(async (input: { FunctionName: string; Payload: Uint8Array }) => {
    invoked++;
    expect(input.FunctionName).toBe("tiercast-prod-audit-writer");
    const request = JSON.parse(new TextDecoder().decode(input.Payload));
    const answer = await writeAudit(here, request);
    return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) };
  });
}

/** The callers' side on AWS: no store writes of their own for the audit, only the port. */
const viaWriter = (): AuditDeps => ({
  repo: new Proxy(runtime.repo, {
    get(target, prop) {
      if (prop === "put" || prop === "ddb") throw new Error(`the caller touched the table (${String(prop)})`);
      return Reflect.get(target, prop);
    },
  }),
  secret: runtime.secret,
  auditWriter: lambdaAuditWriter("tiercast-prod-audit-writer", async () => new LambdaClient({})),
});

beforeAll(async () => {
  runtime = await startRuntime({ config: parseConfig({}) });
  here = { repo: runtime.repo, secret: runtime.secret };
});
afterAll(async () => {
  lambda.restore();
  await runtime?.stop();
});
afterEach(() => lambda.reset());

describe("the audit writer port", () => {
  it("appends through the AuditWriter function: the same HMAC chain and head, verifiable", async () => {
    wireFunction();
    const deps = viaWriter();
    for (let n = 1; n <= 3; n++) {
      const stored = await appendAudit(deps, entry("via-writer", n));
      expect(stored.seq).toBe(n);
    }
    expect(invoked).toBe(3);
    const trail = await readAudit(here, "campaign", "via-writer");
    expect(trail.intact).toBe(true);
    expect(trail.entries.map((e) => e.action)).toEqual(["step-1", "step-2", "step-3"]);
    // Mixed with in-process appends (the embedded runtime), one chain.
    await appendAudit(here, entry("via-writer", 4));
    await appendAudit(deps, entry("via-writer", 5));
    expect((await readAudit(here, "campaign", "via-writer")).entries.map((e) => e.seq)).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect((await verifyAudit(here)).intact).toBe(true);
  });

  it("keeps once-only appends once (a retried Finalize)", async () => {
    wireFunction();
    const deps = viaWriter();
    const once = { ...entry("once", 1), onceKey: "launch#1" };
    const first = await appendAudit(deps, once);
    const again = await appendAudit(deps, once);
    expect(again.seq).toBe(first.seq);
    expect((await readAudit(here, "campaign", "once")).entries).toHaveLength(1);
  });

  it("a use case on AWS appends through it (the caller's own role has no AUDIT# write)", async () => {
    wireFunction();
    const deps = { ...viaWriter(), repo: runtime.repo, config: runtime.config, now: () => new Date() };
    await addUserAs(deps, { userId: "ada", role: "admin" }, { userId: "mia-writer", role: "marketer" });
    expect(invoked).toBe(1);
    const trail = await readAudit(here, "user", "mia-writer");
    expect(trail.intact).toBe(true);
    expect(trail.entries.map((e) => `${e.action} by ${e.actor.userId}`)).toEqual(["add by ada"]);
  });

  it("refuses an entry that is not an audit entry, with the reason, and writes nothing", async () => {
    wireFunction();
    const deps = viaWriter();
    await expect(
      appendAudit(deps, { ...entry("refused", 1), entity: "ledger" } as unknown as AuditEntry),
    ).rejects.toThrow(/bad audit entry: entry\.entity/);
    expect((await readAudit(here, "campaign", "refused")).entries).toEqual([]);
  });

  it("fails the caller when the function fails (never a silent missing entry)", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: "Unhandled",
      Payload: new TextEncoder().encode('{"errorMessage":"Task timed out"}') as never,
    });
    await expect(appendAudit(viaWriter(), entry("failing", 1))).rejects.toThrow(
      /the audit writer failed \(Unhandled\): .*Task timed out/,
    );
  });

  it("is what the composition root wires when AUDIT_WRITER_FUNCTION is set, and not otherwise", () => {
    const env = { TABLE_NAME: "t", TIERCAST_SECRET: "s".repeat(32) };
    const onAws = createApp(settingsFrom(Env.parse({ ...env, AUDIT_WRITER_FUNCTION: "fn" })));
    const writer = createApp(settingsFrom(Env.parse(env)));
    expect(onAws.auditDeps().auditWriter).toBeDefined();
    expect(onAws.awsApiDeps(async () => undefined).auditWriter).toBeDefined();
    expect(writer.auditDeps().auditWriter).toBeUndefined();
    onAws.close();
    writer.close();
  });
});
