import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveCampaign } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { finalizeLaunch, validateLaunch } from "#functions/launch/core.ts";
import { recordLaunchOutcome } from "#functions/usecases/campaigns.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { LEADING_KEYS } from "../../infra/constructs/table-access.ts";
import { localBank, setClock } from "./bank.ts";

// The functions whose roles are confined with dynamodb:LeadingKeys (infra/constructs/table-access.ts):
// their cores run here with every table key they use recorded, so code that starts touching another
// partition fails this test before it fails with AccessDenied on AWS.
const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let recording: Set<string> | undefined;

type Input = {
  Key?: { PK?: unknown };
  Item?: { PK?: unknown };
  IndexName?: string;
  KeyConditionExpression?: string;
  ExpressionAttributeValues?: Record<string, unknown>;
  RequestItems?: Record<
    string,
    { Keys?: { PK?: unknown }[] } | { PutRequest?: { Item: { PK?: unknown } } }[]
  >;
};

/** The partition keys of one command (table items only: index queries have their own grant). */
function partitions(input: Input): unknown[] {
  if (input.IndexName) return [];
  const out: unknown[] = [input.Key?.PK, input.Item?.PK];
  const m = /\bPK\s*=\s*(:\w+)/.exec(input.KeyConditionExpression ?? "");
  if (m) out.push(input.ExpressionAttributeValues?.[m[1]!]);
  for (const request of Object.values(input.RequestItems ?? {}))
    if (Array.isArray(request)) for (const r of request) out.push(r.PutRequest?.Item.PK);
    else for (const k of request.Keys ?? []) out.push(k.PK);
  return out.filter((v) => v !== undefined);
}

const inside = (pk: string, patterns: string[]) =>
  patterns.some((p) => (p.endsWith("*") ? pk.startsWith(p.slice(0, -1)) : pk === p));

async function keysOf(run: () => Promise<unknown>): Promise<string[]> {
  recording = new Set();
  try {
    await run();
    return [...recording].sort();
  } finally {
    recording = undefined;
  }
}

beforeAll(async () => {
  runtime = await localBank(200, new Date("2027-02-28T00:00:00Z"));
  setClock(runtime, AT);
  runtime.repo.ddb.middlewareStack.add(
    (next) => async (args) => {
      if (recording) for (const pk of partitions(args.input as Input)) recording.add(String(pk));
      return next(args);
    },
    { step: "initialize", name: "leadingKeysRecorder" },
  );
}, 120_000);
afterAll(async () => {
  await runtime?.stop();
});

describe("dynamodb:LeadingKeys of the confined functions", () => {
  const campaign = () =>
    parseCampaign(
      { ...readCampaignFile("examples/dormant-reactivation.json", runtime.config), campaignId: "lk-1" },
      runtime.config,
    );

  it("validate touches only CAMP#", async () => {
    await saveCampaign(runtime.repo, campaign(), new Date(AT));
    const keys = await keysOf(() => validateLaunch({ campaignId: "lk-1", at: AT }, runtime.app.launchDeps()));
    expect(keys.length).toBeGreaterThan(0);
    for (const pk of keys) expect(inside(pk, LEADING_KEYS.validate!), pk).toBe(true);
  });

  it("finalize (and the outcome it hands the audit writer) touches only CAMP# and LEDGER#", {
    timeout: 120_000,
  }, async () => {
    await launchCampaign(runtime, campaign(), new Date(AT));
    // On AWS the audit entry goes through the writer: its own role, not Finalize's.
    const deps = {
      ...runtime.app.auditDeps(),
      auditWriter: { append: async () => ({}) as never },
    };
    for (const failed of [false, true]) {
      const keys = await keysOf(async () => {
        await finalizeLaunch({ campaignId: "lk-1", failed }, runtime.app.launchDeps());
        await recordLaunchOutcome(deps, "lk-1");
      });
      expect(keys.some((k) => k.startsWith("LEDGER#"))).toBe(true);
      for (const pk of keys) expect(inside(pk, LEADING_KEYS.finalize!), pk).toBe(true);
    }
  });

  it("the recorder sees what it must (a key outside the list fails)", async () => {
    const keys = await keysOf(() => runtime.repo.get({ PK: "CUST#nobody", SK: "PROFILE" }));
    expect(keys).toEqual(["CUST#nobody"]);
    expect(inside("CUST#nobody", LEADING_KEYS.validate!)).toBe(false);
  });
});
