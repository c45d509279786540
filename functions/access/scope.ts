import type { Actor } from "#functions/access/users.ts";
import { getCustomer } from "#functions/customers/store.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import { ForbiddenError } from "#platform/errors.ts";
import type { Repo } from "#platform/repo.ts";

/**
 * Branch scope, one rule for every use case: an actor with a branch acts only on what belongs to that
 * branch; an actor without one (head office, the local operator) acts on everything. Head-office
 * records (no branch) are out of every branch user's scope.
 */
export const inScope = (actor: Pick<Actor, "branchId">, branchId: string | undefined) =>
  !actor.branchId || branchId === actor.branchId;

const owner = (branchId: string | undefined) => (branchId ? `branch ${branchId}` : "head office");

export function assertInScope(
  actor: Pick<Actor, "branchId">,
  what: string,
  branchId: string | undefined,
): void {
  if (!inScope(actor, branchId))
    throw new ForbiddenError(
      `${what} belongs to ${owner(branchId)}, not to branch ${actor.branchId}`,
      "other_branch",
    );
}

/** Bank-wide actions (running every due schedule, ingesting any customer's events) are head office's. */
export function assertHeadOffice(actor: Pick<Actor, "branchId">, what: string): void {
  if (actor.branchId)
    throw new ForbiddenError(
      `${what} acts on every branch: a user of branch ${actor.branchId} cannot`,
      "other_branch",
    );
}

// A refused row keeps its place in the source (an import job resumes from `end`/`next`).
const refuse = (r: SourceRecord, error: string): SourceRecord => ({ ...r, value: undefined, error });

/**
 * A branch's import (a file through the API, or an import job) may hold only that branch's customers:
 * a row of another branch, or one that would overwrite (and so move) another branch's or head office's
 * customer, becomes a rejected line and is not stored. Without a branch, every row passes.
 */
export async function* confineToBranch(
  repo: Repo,
  branchId: string | undefined,
  records: AsyncIterable<SourceRecord>,
): AsyncGenerator<SourceRecord> {
  for await (const r of records) {
    if (!r.value || !branchId) {
      yield r;
      continue;
    }
    const branch = r.value.branchId;
    if (branch !== branchId) {
      yield refuse(r, `branchId ${String(branch ?? "(none)")} is not branch ${branchId}`);
      continue;
    }
    const id = r.value.customerId;
    // One read per row, for branch imports only: they are a branch's own files, not the bank's nightly export.
    const existing = typeof id === "string" ? await getCustomer(repo, id) : undefined;
    if (existing && existing.branchId !== branchId)
      yield refuse(r, `customer ${id} is not a customer of branch ${branchId}`);
    else yield r;
  }
}

/** The RM an `rm` user is in the customer records: their rmId, or their user id. */
export const rmIdOf = (actor: Pick<Actor, "userId" | "rmId">) => actor.rmId ?? actor.userId;

/**
 * An RM's records (their tasks, the customers of their book) are theirs alone: another RM's is 403
 * `other_rm`, even in the same branch. Everyone else is judged by branch scope only.
 */
export function assertRmScope(
  actor: Pick<Actor, "userId" | "role" | "branchId" | "rmId">,
  what: string,
  owner: { branchId?: string; rmId?: string },
): void {
  assertInScope(actor, what, owner.branchId);
  if (actor.role === "rm" && owner.rmId !== rmIdOf(actor))
    throw new ForbiddenError(`${what} is not in the book of RM ${rmIdOf(actor)}`, "other_rm");
}
