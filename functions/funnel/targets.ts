import { counterItems, parseCounterSk } from "#functions/funnel/counters.ts";
import { STAGES, type Stage } from "#functions/ledger/rows.ts";
import { InputError } from "#platform/errors.ts";
import type { Repo } from "#platform/repo.ts";

/** A funnel target (000:820-825): a stage count to reach for a campaign (and tier) in a quarter, month or week. */
export interface Target {
  campaignId: string;
  period: string; // 2027Q1 | 2027-03 | 2027-W09
  tier: string; // a tier, or "all"
  stage: Stage;
  value: number;
}

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The first and last local day (YYYY-MM-DD) of a quarter, month or ISO week. */
export function periodRange(period: string): [string, string] {
  let m = /^(\d{4})Q([1-4])$/.exec(period);
  if (m) {
    const y = Number(m[1]);
    const q = Number(m[2]);
    return [iso(Date.UTC(y, (q - 1) * 3, 1)), iso(Date.UTC(y, q * 3, 1) - DAY)];
  }
  m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    return [iso(Date.UTC(y, mo - 1, 1)), iso(Date.UTC(y, mo, 1) - DAY)];
  }
  m = /^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$/.exec(period);
  if (m) {
    // ISO 8601: week 1 is the week with the year's first Thursday; weeks start on Monday.
    const y = Number(m[1]);
    const w = Number(m[2]);
    const jan4 = Date.UTC(y, 0, 4);
    const monday1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
    const start = monday1 + (w - 1) * 7 * DAY;
    // Week 53 exists only in long years; elsewhere it would silently be next year's week 1.
    if (w === 53 && new Date(start + 3 * DAY).getUTCFullYear() !== y)
      throw new InputError(`period: ${y} has no ISO week 53`);
    return [iso(start), iso(start + 6 * DAY)];
  }
  throw new InputError(
    `period must be a quarter (2027Q1), a month (2027-03) or an ISO week (2027-W09), got "${period}"`,
  );
}

export class TargetValidationError extends InputError {
  constructor(readonly problems: string[]) {
    super(`invalid target: ${problems.join("; ")}`);
  }
}

/** Every problem of a target at once, field by field (a person fixes them in one go). */
export function validateTarget(t: Target): Target {
  const problems: string[] = [];
  try {
    periodRange(t.period);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  if (!STAGES.includes(t.stage)) problems.push(`stage must be one of ${STAGES.join(", ")}, got "${t.stage}"`);
  if (!Number.isInteger(t.value) || t.value <= 0)
    problems.push("the target value must be a positive integer");
  if (problems.length > 0) throw new TargetValidationError(problems);
  return t;
}

export async function setTarget(repo: Repo, t: Target) {
  validateTarget(t);
  await repo.put({ PK: `TARGET#${t.campaignId}`, SK: `${t.period}#${t.tier}#${t.stage}`, ...t });
}

/** Progress of every target of a campaign, from the treated group's counters whose day is in the period. */
export async function targetProgress(repo: Repo, campaignId: string) {
  const targets: Target[] = [];
  // The item's keys are the store's, not the API's.
  for await (const { PK: _pk, SK: _sk, ...item } of repo.queryAll(`TARGET#${campaignId}`))
    targets.push(item as unknown as Target);
  const counters: { tier: string; day: string; stage: Stage; n: number }[] = [];
  for await (const item of counterItems(repo, campaignId)) {
    const c = parseCounterSk(String(item.SK));
    if (!c.holdout) counters.push({ tier: c.tier, day: c.day, stage: c.stage, n: Number(item.n ?? 0) });
  }
  return targets.map((t) => {
    const [from, to] = periodRange(t.period);
    const actual = counters
      .filter(
        (c) => c.stage === t.stage && (t.tier === "all" || c.tier === t.tier) && c.day >= from && c.day <= to,
      )
      .reduce((a, c) => a + c.n, 0);
    return { ...t, from, to, actual, progress: Math.round((actual / t.value) * 1000) / 10 };
  });
}
