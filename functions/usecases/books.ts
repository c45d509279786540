import { rmIdOf } from "#functions/access/scope.ts";
import { type Actor, listUsers } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { pagesOf, shardTasks } from "#functions/campaign/segment.ts";
import { type BookCustomer, type Claim, planBooks } from "#functions/customers/books.ts";
import { assignRm, getCustomers } from "#functions/customers/store.ts";
import { staffOfBranch } from "#functions/staff/store.ts";
import { PRIMARY_SCHEME } from "#platform/config.ts";
import { ForbiddenError, InputError } from "#platform/errors.ts";
import { mapLimit } from "#platform/repo.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

export interface AssignBooksOptions {
  /** Rule B: lines of {customerId, rmId}; a bad line is refused by its number, the rest goes on. */
  claims?: AsyncIterable<{ line: number; value?: Record<string, unknown>; error?: string }>;
  cap?: number;
  /** The tiers that must all have an RM (default potential and quality, 000:640). */
  tiers?: string[];
  dryRun?: boolean;
}

/**
 * Runs the book rules A–D (000:640) for the bank, or for a branch user's branch. Writes go through the
 * customers' owner (a conditional assignment: a customer given an RM meanwhile keeps them); one audit
 * entry per run, with the counts by rule and per RM.
 */
export async function assignBooksAs(deps: UseCaseDeps, actor: Actor, options: AssignBooksOptions = {}) {
  if (actor.role === "rm") throw new ForbiddenError("an RM cannot assign books", "forbidden");
  const cap = options.cap ?? deps.config.rm.bookCap;
  if (!Number.isInteger(cap) || cap < 1) throw new InputError(`cap must be an integer ≥ 1, got "${cap}"`);
  const retail = deps.config.tierSchemes[PRIMARY_SCHEME.retail]?.tiers.map((t) => t.name) ?? [];
  const tiers = options.tiers ?? ["potential", "quality"];
  const unknown = tiers.filter((t) => !retail.includes(t));
  if (unknown.length)
    throw new InputError(`tiers: ${unknown.join(", ")} not a retail tier (${retail.join(", ")})`);
  // Highest tier first: when the books run out, the better customers already have an RM.
  const assignTiers = [...tiers].sort((a, b) => retail.indexOf(b) - retail.indexOf(a));

  const books = new Map<string, number>();
  const homes = new Map<string, Map<string, number>>();
  const customers = new Map<string, BookCustomer>();
  const branches = new Set<string>();
  let total = 0;
  for (const scheme of Object.values(PRIMARY_SCHEME)) {
    const names = deps.config.tierSchemes[scheme]?.tiers.map((t) => t.name) ?? [];
    for (const task of shardTasks(names, deps.config.shards))
      for await (const page of pagesOf(deps.repo, scheme, task, 1000))
        for (const c of page) {
          total++;
          if (c.branchId) branches.add(c.branchId);
          if (c.rmId) {
            books.set(c.rmId, (books.get(c.rmId) ?? 0) + 1);
            const home = homes.get(c.rmId) ?? new Map<string, number>();
            if (c.branchId) home.set(c.branchId, (home.get(c.branchId) ?? 0) + 1);
            homes.set(c.rmId, home);
          } else if (!actor.branchId || c.branchId === actor.branchId)
            customers.set(c.customerId, {
              customerId: c.customerId,
              tier: c.tier,
              ...(c.branchId ? { branchId: c.branchId } : {}),
            });
        }
  }

  // Each RM's branch: the staff list and the rm users say it; else where most of their book is.
  const rmBranch = new Map<string, string>();
  for (const [rmId, home] of homes) {
    const top = [...home].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    if (top) rmBranch.set(rmId, top[0]);
  }
  for (const u of await listUsers(deps.repo))
    if (u.role === "rm" && u.branchId) rmBranch.set(rmIdOf(u), u.branchId);
  for (const b of branches)
    for (const s of await staffOfBranch(deps.repo, b)) if (s.role === "rm") rmBranch.set(s.staffId, b);

  const claims: Claim[] = [];
  const badLines: { line: number; customerId: string; rmId: string; error: string }[] = [];
  if (options.claims)
    for await (const r of options.claims) {
      const customerId = typeof r.value?.customerId === "string" ? r.value.customerId.trim() : "";
      const rmId = typeof r.value?.rmId === "string" ? r.value.rmId.trim() : "";
      if (!r.value)
        badLines.push({ line: r.line, customerId: "", rmId: "", error: r.error ?? "not a record" });
      else if (!customerId || !rmId)
        badLines.push({ line: r.line, customerId, rmId, error: "a claim needs customerId and rmId" });
      else claims.push({ line: r.line, customerId, rmId });
    }
  // Claimed customers who already have an RM are not in the map: read them, so rule A can say so.
  const missing = [...new Set(claims.map((c) => c.customerId))].filter((id) => !customers.has(id));
  for (let i = 0; i < missing.length; i += 100)
    for (const [id, c] of await getCustomers(deps.repo, missing.slice(i, i + 100)))
      customers.set(id, {
        customerId: id,
        tier: c.tier,
        ...(c.branchId ? { branchId: c.branchId } : {}),
        ...(c.rmId ? { rmId: c.rmId } : {}),
      });

  const plan = planBooks({
    books,
    customers,
    claims,
    rmBranch,
    cap,
    assignTiers,
    ...(actor.branchId ? { branchId: actor.branchId } : {}),
  });
  const at = deps.now().toISOString();
  let written = 0;
  let skipped = 0;
  if (!options.dryRun) {
    const applied = await mapLimit(plan.assignments, 8, (a) =>
      assignRm(deps.repo, a.customerId, a.rmId, { at, rule: a.rule }),
    );
    written = applied.filter(Boolean).length;
    skipped = applied.length - written;
  }
  const byRm = new Map<string, { claimed: number; assigned: number }>();
  for (const a of plan.assignments) {
    const r = byRm.get(a.rmId) ?? { claimed: 0, assigned: 0 };
    if (a.rule === "B") r.claimed++;
    else r.assigned++;
    byRm.set(a.rmId, r);
  }
  const rejected = [...badLines, ...plan.rejected].sort((a, b) => a.line - b.line);
  const unassignedByTier: Record<string, number> = {};
  for (const u of plan.unassigned) unassignedByTier[u.tier] = (unassignedByTier[u.tier] ?? 0) + 1;
  const result = {
    cap,
    tiers: assignTiers,
    dryRun: Boolean(options.dryRun),
    ...(actor.branchId ? { branchId: actor.branchId } : {}),
    customers: total,
    kept: [...books.values()].reduce((a, b) => a + b, 0),
    claimed: plan.assignments.filter((a) => a.rule === "B").length,
    assigned: plan.assignments.filter((a) => a.rule === "C").length,
    written,
    skipped,
    rejected,
    unassigned: plan.unassigned.length,
    unassignedByTier,
    unassignedCustomers: plan.unassigned,
    overCap: plan.overCap,
    byRm: [...byRm]
      .map(([rmId, r]) => ({ rmId, ...r, book: plan.books.get(rmId) ?? 0 }))
      .sort((a, b) => a.rmId.localeCompare(b.rmId)),
    assignments: plan.assignments.map((a) => ({
      customerId: a.customerId,
      rmId: a.rmId,
      rule: a.rule,
      tier: a.tier,
      ...(a.line ? { line: a.line } : {}),
    })),
  };
  if (!options.dryRun)
    await appendAudit(deps, {
      entity: "books",
      entityId: `${at.slice(0, 10)}${actor.branchId ? `.${actor.branchId}` : ""}`,
      action: "assign",
      actor: auditActor(actor),
      at,
      after: {
        cap,
        claimed: result.claimed,
        assigned: result.assigned,
        written,
        skipped,
        rejected: rejected.length,
        unassigned: result.unassigned,
        byRm: Object.fromEntries(result.byRm.map((r) => [r.rmId, r.claimed + r.assigned])),
      },
    });
  return result;
}
