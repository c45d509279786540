import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { STAGES, type Stage } from "#functions/ledger/rows.ts";
import { ConflictError, InputError } from "#platform/errors.ts";
import { batchWrite, conditional, type Item, type Repo } from "#platform/repo.ts";
import { periodRange } from "./targets.ts";

/**
 * Bank indicators (指标, 000:820-825): a quarter's count of one funnel stage for the whole bank,
 * cascaded quarter → month → week and bank → branch → RM. The only writer of INDICATOR# items.
 *
 * The cascade adds up exactly at every level, by construction: the leaves are (RM, month) cells whose
 * row sums are the RMs' shares of the quarter and whose column sums are the months' (equal thirds),
 * both split by largest remainder; weeks split each cell by the days of the month they hold; every
 * other figure (a branch's month, the bank's week) is the sum of its leaves.
 */
export interface IndicatorPlanInput {
  period: string; // a quarter: 2027Q1
  stage: Stage;
  value: number;
  /** Branch and RM shares: by the number of customers in each book (default), or equal. */
  split?: "customers" | "equal";
}

/** A book to split over: a branch's RM and how many customers they hold (rmId undefined: no RM yet). */
export interface BookSize {
  branchId: string;
  rmId?: string;
  customers: number;
}

export interface IndicatorNode {
  level: "bank" | "branch" | "rm";
  branchId?: string;
  rmId?: string;
  quarter: number;
  months: Record<string, number>;
  /** Per month, per ISO week: the days of the week that fall in the month (a week across two months has two parts). */
  weeks: Record<string, Record<string, number>>;
  /** A branch whose share its manager re-split among its RMs by hand: who, and when. */
  rmSplit?: { by: string; at: string };
}

export class IndicatorValidationError extends InputError {
  constructor(readonly problems: string[]) {
    super(`invalid indicator: ${problems.join("; ")}`);
  }
}

const DAY = 86_400_000;

/** Every problem at once (a person fixes them in one go). */
export function validateIndicator(input: IndicatorPlanInput, books: BookSize[]): void {
  const problems: string[] = [];
  if (!/^\d{4}Q[1-4]$/.test(input.period))
    problems.push(`period must be a quarter (2027Q1), got "${input.period}"`);
  if (!STAGES.includes(input.stage))
    problems.push(`stage must be one of ${STAGES.join(", ")}, got "${input.stage}"`);
  if (!Number.isInteger(input.value) || input.value <= 0)
    problems.push(`value must be a positive integer, got "${input.value}"`);
  if (input.split !== undefined && input.split !== "customers" && input.split !== "equal")
    problems.push(`split must be customers or equal, got "${input.split}"`);
  if (books.length === 0) problems.push("there are no customers with a branch to split the indicator over");
  if (problems.length) throw new IndicatorValidationError(problems);
}

/**
 * Splits an integer total by weights, exactly (largest remainder; ties to the earlier part). Zero total
 * weight splits equally.
 */
export function splitExact(total: number, weights: number[]): number[] {
  if (weights.length === 0) return [];
  const sum = weights.reduce((a, b) => a + b, 0);
  const w = sum > 0 ? weights : weights.map(() => 1);
  const wsum = sum > 0 ? sum : weights.length;
  const ideal = w.map((x) => (total * x) / wsum);
  const parts = ideal.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = ideal
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i]!++;
    left--;
  }
  return parts;
}

/**
 * Integer cells with the given row and column sums (they have the same total), each near
 * row × column / total: column by column, every row gets its floor, and the column's rest goes one
 * unit at a time to the rows furthest behind their proportional cumulative share; the last column is
 * what each row still has. Never negative, never over a row's sum.
 */
export function controlledRounding(rows: number[], cols: number[]): number[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const cells = rows.map(() => cols.map(() => 0));
  const assigned = rows.map(() => 0);
  let cum = 0;
  cols.forEach((col, j) => {
    cum += col;
    if (j === cols.length - 1) {
      rows.forEach((r, i) => {
        cells[i]![j] = r - assigned[i]!;
      });
      return;
    }
    let left = col;
    const ideal = rows.map((r) => (total ? (r * cum) / total : 0));
    rows.forEach((r, i) => {
      const n = Math.max(0, Math.min(r - assigned[i]!, Math.floor(ideal[i]!) - assigned[i]!, left));
      cells[i]![j] = n;
      assigned[i]! += n;
      left -= n;
    });
    while (left > 0) {
      let best = -1;
      for (let i = 0; i < rows.length; i++) {
        if (assigned[i]! >= rows[i]!) continue;
        if (best < 0 || ideal[i]! - assigned[i]! > ideal[best]! - assigned[best]!) best = i;
      }
      if (best < 0) break; // cannot happen: the rows still hold at least the columns left
      cells[best]![j]!++;
      assigned[best]!++;
      left--;
    }
  });
  return cells;
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The ISO week (2027-W09) of a UTC day. */
export function isoWeek(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7;
  const thursday = t + (3 - dow) * DAY;
  const year = new Date(thursday).getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1);
  const week = Math.floor((thursday - jan1) / DAY / 7) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** The months of a quarter, and per month its weeks with the number of the month's days in each. */
export function quarterCalendar(quarter: string) {
  const [from] = periodRange(quarter);
  const y = Number(from.slice(0, 4));
  const m0 = Number(from.slice(5, 7)) - 1;
  return [0, 1, 2].map((k) => {
    const start = Date.UTC(y, m0 + k, 1);
    const end = Date.UTC(y, m0 + k + 1, 1);
    const month = isoDay(start).slice(0, 7);
    const weeks = new Map<string, number>();
    for (let t = start; t < end; t += DAY) {
      const w = isoWeek(isoDay(t));
      weeks.set(w, (weeks.get(w) ?? 0) + 1);
    }
    return { month, weeks: [...weeks].map(([week, days]) => ({ week, days })) };
  });
}

/** The whole cascade of one indicator over the bank's books. */
export function cascade(input: IndicatorPlanInput, books: BookSize[]): IndicatorNode[] {
  validateIndicator(input, books);
  const equal = input.split === "equal";
  const calendar = quarterCalendar(input.period);
  const branches = [...new Set(books.map((b) => b.branchId))].sort();
  const branchWeight = branches.map((b) =>
    equal ? 1 : books.filter((x) => x.branchId === b).reduce((a, x) => a + x.customers, 0),
  );
  const branchQuarter = splitExact(input.value, branchWeight);
  // Leaves: the RMs of each branch (a branch without any RM is its own leaf, so nothing is lost).
  const leaves: { branchId: string; rmId?: string; quarter: number }[] = [];
  branches.forEach((branchId, bi) => {
    const rms = books
      .filter((x) => x.branchId === branchId && x.rmId)
      .sort((a, b) => a.rmId!.localeCompare(b.rmId!));
    if (rms.length === 0) {
      leaves.push({ branchId, quarter: branchQuarter[bi]! });
      return;
    }
    const shares = splitExact(
      branchQuarter[bi]!,
      rms.map((r) => (equal ? 1 : r.customers)),
    );
    rms.forEach((r, i) => {
      leaves.push({ branchId, rmId: r.rmId!, quarter: shares[i]! });
    });
  });
  const monthTotals = splitExact(input.value, [1, 1, 1]);
  const cells = controlledRounding(
    leaves.map((l) => l.quarter),
    monthTotals,
  );
  const leafNodes: IndicatorNode[] = leaves.map((l, i) => {
    const months: Record<string, number> = {};
    const weeks: Record<string, Record<string, number>> = {};
    calendar.forEach((c, j) => {
      const v = cells[i]![j]!;
      months[c.month] = v;
      const parts = splitExact(
        v,
        c.weeks.map((w) => w.days),
      );
      weeks[c.month] = Object.fromEntries(c.weeks.map((w, k) => [w.week, parts[k]!]));
    });
    return {
      level: l.rmId ? "rm" : "branch",
      branchId: l.branchId,
      ...(l.rmId ? { rmId: l.rmId } : {}),
      quarter: l.quarter,
      months,
      weeks,
    };
  });
  const sum = (level: IndicatorNode["level"], parts: IndicatorNode[], branchId?: string): IndicatorNode => {
    const node: IndicatorNode = {
      level,
      ...(branchId ? { branchId } : {}),
      quarter: 0,
      months: {},
      weeks: {},
    };
    for (const c of calendar) {
      node.months[c.month] = 0;
      node.weeks[c.month] = Object.fromEntries(c.weeks.map((w) => [w.week, 0]));
    }
    for (const p of parts) {
      node.quarter += p.quarter;
      for (const c of calendar) {
        node.months[c.month]! += p.months[c.month]!;
        for (const w of c.weeks) node.weeks[c.month]![w.week]! += p.weeks[c.month]![w.week]!;
      }
    }
    return node;
  };
  const branchNodes = branches.map((b) => {
    const own = leafNodes.filter((n) => n.branchId === b);
    return own.length === 1 && own[0]!.level === "branch" ? own[0]! : sum("branch", own, b);
  });
  const rmNodes = leafNodes.filter((n) => n.level === "rm");
  return [sum("bank", leafNodes), ...branchNodes, ...rmNodes];
}

const partition = (period: string, stage: string) => `INDICATOR#${period}#${stage}`;
const orgSk = (n: Pick<IndicatorNode, "branchId" | "rmId">) => `ORG#${n.branchId ?? "*"}#${n.rmId ?? "*"}`;

export interface IndicatorPlan {
  period: string;
  stage: Stage;
  value: number;
  split: "customers" | "equal";
  setAt: string;
  setBy: string;
  nodes: IndicatorNode[];
}

/** Replaces the indicator's whole cascade (a second set is a new plan, not a merge). */
export async function saveIndicatorPlan(repo: Repo, plan: IndicatorPlan): Promise<void> {
  const pk = partition(plan.period, plan.stage);
  const old: Item[] = [];
  for await (const item of repo.queryAll(pk)) old.push({ PK: item.PK, SK: item.SK });
  const keep = new Set(plan.nodes.map(orgSk));
  await batchWrite(
    repo.ddb,
    repo.table,
    old.filter((k) => k.SK !== "PLAN" && !keep.has(String(k.SK))).map((Key) => ({ DeleteRequest: { Key } })),
  );
  const { nodes, ...header } = plan;
  await batchWrite(repo.ddb, repo.table, [
    ...nodes.map((n) => ({ PutRequest: { Item: { PK: pk, SK: orgSk(n), ...n } } })),
    { PutRequest: { Item: { PK: pk, SK: "PLAN", ...header } } },
  ]);
}

export async function loadIndicatorPlan(
  repo: Repo,
  period: string,
  stage: string,
): Promise<IndicatorPlan | undefined> {
  let header: Item | undefined;
  const nodes: IndicatorNode[] = [];
  for await (const { PK: _pk, SK, ...item } of repo.queryAll(partition(period, stage))) {
    if (SK === "PLAN") header = item;
    else nodes.push(item as unknown as IndicatorNode);
  }
  if (!header) return undefined;
  const order = { bank: 0, branch: 1, rm: 2 };
  nodes.sort(
    (a, b) =>
      order[a.level] - order[b.level] ||
      (a.branchId ?? "").localeCompare(b.branchId ?? "") ||
      (a.rmId ?? "").localeCompare(b.rmId ?? ""),
  );
  return { ...(header as unknown as Omit<IndicatorPlan, "nodes">), nodes };
}

/** A count of the indicator's stage: where (branch, RM) and when (local day), treated group only. */
export interface StageCount {
  branchId?: string;
  rmId?: string;
  day: string;
  n: number;
}

export interface NodeProgress {
  level: IndicatorNode["level"];
  branchId?: string;
  rmId?: string;
  period: string;
  from: string;
  to: string;
  target: number;
  actual: number;
  progress: number;
}

/**
 * Progress of every figure of the cascade: each count adds to the bank, its branch and its RM (when
 * the RM is in the plan), in the quarter, its month and its week part. A count of an RM the plan does
 * not know (a new RM, a customer without one) counts for the branch and the bank only.
 */
export function indicatorProgress(plan: IndicatorPlan, counts: Iterable<StageCount>): NodeProgress[] {
  const calendar = quarterCalendar(plan.period);
  const [qFrom, qTo] = periodRange(plan.period);
  const actual = new Map<string, number>();
  const add = (k: string, n: number) => actual.set(k, (actual.get(k) ?? 0) + n);
  const rms = new Set(plan.nodes.filter((n) => n.level === "rm").map((n) => `${n.branchId}#${n.rmId}`));
  for (const c of counts) {
    if (c.day < qFrom || c.day > qTo) continue;
    const month = c.day.slice(0, 7);
    const week = isoWeek(c.day);
    const orgs = ["bank"];
    if (c.branchId) orgs.push(`branch#${c.branchId}`);
    if (c.branchId && c.rmId && rms.has(`${c.branchId}#${c.rmId}`)) orgs.push(`rm#${c.branchId}#${c.rmId}`);
    for (const o of orgs) {
      add(`${o}|${plan.period}`, c.n);
      add(`${o}|${month}`, c.n);
      add(`${o}|${month}/${week}`, c.n);
    }
  }
  const orgKey = (n: IndicatorNode) =>
    n.level === "bank"
      ? "bank"
      : n.level === "branch"
        ? `branch#${n.branchId}`
        : `rm#${n.branchId}#${n.rmId}`;
  const out: NodeProgress[] = [];
  const pct = (a: number, t: number) => (t ? Math.round((a / t) * 1000) / 10 : 0);
  for (const n of plan.nodes) {
    const o = orgKey(n);
    const who = {
      level: n.level,
      ...(n.branchId ? { branchId: n.branchId } : {}),
      ...(n.rmId ? { rmId: n.rmId } : {}),
    };
    const q = actual.get(`${o}|${plan.period}`) ?? 0;
    out.push({
      ...who,
      period: plan.period,
      from: qFrom,
      to: qTo,
      target: n.quarter,
      actual: q,
      progress: pct(q, n.quarter),
    });
    for (const c of calendar) {
      const [mFrom, mTo] = periodRange(c.month);
      const m = actual.get(`${o}|${c.month}`) ?? 0;
      const mt = n.months[c.month] ?? 0;
      out.push({
        ...who,
        period: c.month,
        from: mFrom,
        to: mTo,
        target: mt,
        actual: m,
        progress: pct(m, mt),
      });
      for (const w of c.weeks) {
        const [wFrom, wTo] = periodRange(w.week);
        const from = wFrom < mFrom ? mFrom : wFrom;
        const to = wTo > mTo ? mTo : wTo;
        const a = actual.get(`${o}|${c.month}/${w.week}`) ?? 0;
        const t = n.weeks[c.month]?.[w.week] ?? 0;
        out.push({
          ...who,
          period: `${c.month}/${w.week}`,
          from,
          to,
          target: t,
          actual: a,
          progress: pct(a, t),
        });
      }
    }
  }
  return out;
}

/** One RM's share of a branch's quarter, as a branch manager re-splits it by hand. */
export interface RmShare {
  rmId: string;
  quarter: number;
}

/**
 * A branch's share of the quarter re-split among its RMs by hand (the branch manager's; the cascade's
 * split is by books or equal). The branch's own figures (quarter, months and week parts) do not move,
 * so neither does anything above it: the RM × month cells are a controlled rounding of the new shares
 * against the branch's months, and each month's cells against the branch's week parts of that month.
 * Every problem is listed at once; `known` says which RM ids may hold a share of the branch.
 */
export function resplitBranch(
  plan: IndicatorPlan,
  branchId: string,
  shares: RmShare[],
  known: (rmId: string) => boolean,
): IndicatorNode[] {
  const branch = plan.nodes.find((n) => n.level === "branch" && n.branchId === branchId);
  const problems: string[] = [];
  if (!branch) problems.push(`branch ${branchId} has no share of ${plan.stage} in ${plan.period}`);
  if (shares.length === 0) problems.push("name at least one RM and their share");
  const seen = new Set<string>();
  for (const s of shares) {
    if (!Number.isInteger(s.quarter) || s.quarter < 0)
      problems.push(`${s.rmId}: the share must be a whole number ≥ 0, got "${s.quarter}"`);
    if (seen.has(s.rmId)) problems.push(`${s.rmId}: named twice`);
    seen.add(s.rmId);
    if (!known(s.rmId)) problems.push(`${s.rmId}: not an RM of branch ${branchId}`);
  }
  const total = shares.reduce((a, s) => a + (Number.isInteger(s.quarter) ? s.quarter : 0), 0);
  if (branch && total !== branch.quarter)
    problems.push(
      `the shares add up to ${total}, the branch's quarter is ${branch.quarter}: they must be equal`,
    );
  if (problems.length || !branch) throw new IndicatorValidationError(problems);
  const calendar = quarterCalendar(plan.period);
  const ordered = [...shares].sort((a, b) => a.rmId.localeCompare(b.rmId));
  const cells = controlledRounding(
    ordered.map((s) => s.quarter),
    calendar.map((c) => branch.months[c.month] ?? 0),
  );
  const weekCells = calendar.map((c, j) =>
    controlledRounding(
      cells.map((row) => row[j]!),
      c.weeks.map((w) => branch.weeks[c.month]?.[w.week] ?? 0),
    ),
  );
  return ordered.map((s, i) => ({
    level: "rm",
    branchId,
    rmId: s.rmId,
    quarter: s.quarter,
    months: Object.fromEntries(calendar.map((c, j) => [c.month, cells[i]![j]!])),
    weeks: Object.fromEntries(
      calendar.map((c, j) => [
        c.month,
        Object.fromEntries(c.weeks.map((w, k) => [w.week, weekCells[j]![i]![k]!])),
      ]),
    ),
  }));
}

const LOCK_MS = 60_000;

/**
 * Writes a branch's re-split RM nodes: the branch's old RM nodes go, the new ones come, the branch node
 * records who split it. One re-split of a branch at a time (a lock item, 60 s; a second one meanwhile is
 * refused, 409), so two managers' lists are never mixed; other branches' nodes are never touched.
 */
export async function saveBranchSplit(
  repo: Repo,
  plan: IndicatorPlan,
  branchId: string,
  rms: IndicatorNode[],
  by: { userId: string; at: string },
): Promise<void> {
  const pk = partition(plan.period, plan.stage);
  const lock = { PK: `INDICATORLOCK#${plan.period}#${plan.stage}`, SK: `BRANCH#${branchId}` };
  const now = Date.parse(by.at);
  const held = !(await conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...lock, by: by.userId, until: new Date(now + LOCK_MS).toISOString() },
        ConditionExpression: "attribute_not_exists(PK) OR #until < :now",
        ExpressionAttributeNames: { "#until": "until" },
        ExpressionAttributeValues: { ":now": by.at },
      }),
    ),
  ));
  if (held)
    throw new ConflictError(
      `branch ${branchId}'s share of ${plan.stage} in ${plan.period} is being re-split by someone else: try again`,
      "indicator_busy",
    );
  try {
    const keep = new Set(rms.map(orgSk));
    const old = plan.nodes.filter((n) => n.level === "rm" && n.branchId === branchId && !keep.has(orgSk(n)));
    await batchWrite(
      repo.ddb,
      repo.table,
      old.map((n) => ({ DeleteRequest: { Key: { PK: pk, SK: orgSk(n) } } })),
    );
    const branch = plan.nodes.find((n) => n.level === "branch" && n.branchId === branchId)!;
    await batchWrite(repo.ddb, repo.table, [
      ...rms.map((n) => ({ PutRequest: { Item: { PK: pk, SK: orgSk(n), ...n } } })),
      {
        PutRequest: {
          Item: { PK: pk, SK: orgSk(branch), ...branch, rmSplit: { by: by.userId, at: by.at } },
        },
      },
    ]);
  } finally {
    await repo.delete(lock);
  }
}
