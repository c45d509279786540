import { readFileSync } from "node:fs";
import { parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { InputError } from "#platform/errors.ts";

export function readCampaignFile(path: string, config: TiercastConfig): ResolvedCampaign {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InputError(`cannot read ${path}: no such file`);
  }
  if (text.length > 1_000_000) throw new InputError(`${path}: a campaign file must be under 1 MB`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new InputError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseCampaign(raw, config);
}
