import { assertInScope } from "#functions/access/scope.ts";
import { type Actor, addUser, findUser, type NewUser } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { ForbiddenError } from "#platform/errors.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/**
 * Adds a user (or re-keys one). A branch admin may only add users of their own branch and only re-key
 * their own branch's users: otherwise they could mint a head-office admin, or take over one's token.
 */
export async function addUserAs(deps: UseCaseDeps, actor: Actor, user: NewUser) {
  if (actor.branchId && user.branchId !== actor.branchId)
    throw new ForbiddenError(
      `a user of branch ${actor.branchId} can only add users of branch ${actor.branchId}`,
      "other_branch",
    );
  const existing = await findUser(deps.repo, user.userId);
  if (existing) assertInScope(actor, `user ${user.userId}`, existing.branchId);
  const now = deps.now();
  const added = await addUser(deps.repo, user, now);
  await appendAudit(deps, {
    entity: "user",
    entityId: user.userId,
    action: "add",
    actor: auditActor(actor),
    at: now.toISOString(),
    ...(existing ? { before: existing } : {}),
    after: added.user,
  });
  return added;
}
