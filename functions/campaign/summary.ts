import type { Decision } from "./decide.ts";

export interface TierSummary {
  audience: number;
  eligible: number;
  deferred: number;
  holdout: number;
  excluded: number;
}

export interface Summary {
  audience: number;
  eligible: number;
  deferred: number;
  holdout: number;
  excludedTotal: number;
  excluded: Record<string, number>;
  byTier: Record<string, TierSummary & { excludedBy: Record<string, number> }>;
  byVariant: Record<string, { channel: string; eligible: number; deferred: number; smsParts: number }>;
  smsMessages: number;
  smsParts: number;
}

export function emptySummary(): Summary {
  return {
    audience: 0,
    eligible: 0,
    deferred: 0,
    holdout: 0,
    excludedTotal: 0,
    excluded: {},
    byTier: {},
    byVariant: {},
    smsMessages: 0,
    smsParts: 0,
  };
}

export function addDecision(s: Summary, d: Decision): void {
  s.audience++;
  const t = (s.byTier[d.tier] ??= {
    audience: 0,
    eligible: 0,
    deferred: 0,
    holdout: 0,
    excluded: 0,
    excludedBy: {},
  });
  t.audience++;
  if (d.decision === "excluded") {
    const reason = d.reason ?? "unknown";
    s.excludedTotal++;
    s.excluded[reason] = (s.excluded[reason] ?? 0) + 1;
    t.excluded++;
    t.excludedBy[reason] = (t.excludedBy[reason] ?? 0) + 1;
    return;
  }
  s[d.decision]++;
  t[d.decision]++;
  if ((d.decision === "eligible" || d.decision === "deferred") && d.variant) {
    const v = (s.byVariant[d.variant] ??= {
      channel: d.channel ?? "",
      eligible: 0,
      deferred: 0,
      smsParts: 0,
    });
    v[d.decision]++;
    if (d.channel === "sms") {
      const parts = d.message?.parts ?? 1;
      v.smsParts += parts;
      s.smsMessages++;
      s.smsParts += parts;
    }
  }
}
