import type { Actor } from "#functions/access/users.ts";
import { ForbiddenError } from "#platform/errors.ts";

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
