/**
 * The campaign file's fixed lists (CONTRACT.md), as a module with no imports: the schema validates
 * against them and the console's builder (web/, its own tsconfig and bundle) offers them, so a new
 * playbook or channel reaches the form without a copy to keep in step.
 */

export const PLAYBOOKS = [
  "dormant-reactivation",
  "salon-invite",
  "referral-drive",
  "key-maintenance",
  "tier-upgrade",
  "asset-retention",
  "card-upgrade",
  "cd-maturity",
] as const;
export const CHANNELS = ["sms", "email", "rm-task"] as const;
export type Channel = (typeof CHANNELS)[number];
export const LIFECYCLE = ["intro", "growth", "maturity", "decline", "lost"] as const;
export const RISK_LEVELS = ["R1", "R2", "R3", "R4", "R5"] as const;
