import type { Repo } from "#platform/repo.ts";
import { type CampaignRecord, versionKey } from "./record.ts";
import type { Campaign } from "./schema.ts";

/** One difference between two campaign definitions: a field's path, its value before and after. */
export interface Change {
  path: string;
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A list of objects that all carry a string `id` (variants, waves with ids) is compared by id, not position. */
const byId = (v: unknown): Map<string, unknown> | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => isObject(x) && typeof x.id === "string")
    ? new Map(v.map((x) => [(x as { id: string }).id, x]))
    : undefined;

/**
 * Every field that differs between two definitions, as paths like `variants[A].template` or
 * `segment.tiers`: objects field by field, lists of objects with ids by id, other lists and values
 * whole. Equal definitions give no change.
 */
export function diffDefinitions(before: unknown, after: unknown, path = ""): Change[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffDefinitions(before[k], after[k], at(k)));
  }
  const [b, a] = [byId(before), byId(after)];
  if (b && a) {
    const ids = [...new Set([...b.keys(), ...a.keys()])];
    return ids.flatMap((id) => diffDefinitions(b.get(id), a.get(id), `${path}[${id}]`));
  }
  return [
    {
      path: path || "(campaign)",
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    },
  ];
}

/** The version last approved (from the audit trail's approvals), its definition, and what changed since. */
export async function changesSinceApproval(
  repo: Repo,
  record: CampaignRecord,
  approvals: { version: number; by: string; at: string }[],
): Promise<{
  campaignId: string;
  version: number;
  lastApproved: { version: number; by: string; at: string } | null;
  changes: Change[];
}> {
  const last = record.approval ?? approvals.filter((a) => a.version <= record.version).at(-1);
  if (!last)
    return { campaignId: record.campaignId, version: record.version, lastApproved: null, changes: [] };
  const definition =
    last.version === record.version
      ? record.campaign
      : (await repo.get<{ campaign: Campaign }>(versionKey(record.campaignId, last.version)))?.campaign;
  return {
    campaignId: record.campaignId,
    version: record.version,
    lastApproved: { version: last.version, by: last.by, at: last.at },
    changes: definition ? diffDefinitions(definition, record.campaign) : [],
  };
}
