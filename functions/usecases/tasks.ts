import { assertRmScope, rmIdOf } from "#functions/access/scope.ts";
import { type Actor, findUser, listUsers } from "#functions/access/users.ts";
import { appendAudit } from "#functions/audit/store.ts";
import { findCampaign } from "#functions/campaign/record.ts";
import { markPhoneWrong } from "#functions/contact/gate.ts";
import { bookPage, moveToRm } from "#functions/customers/store.ts";
import { advanceStage } from "#functions/funnel/counters.ts";
import { readRow } from "#functions/ledger/reads.ts";
import {
  allTasks,
  CONTACT_OUTCOMES,
  getTask,
  reassignTask,
  recordOutcome,
  type StatusFilter,
  type Task,
  type TaskOutcome,
  type TaskScope,
  taskPage,
  tasksOfBranch,
  tasksOfRm,
} from "#functions/tasks/store.ts";
import { ConflictError, ForbiddenError, InputError, NotFoundError } from "#platform/errors.ts";
import { shardOf } from "#platform/hash.ts";
import { mapLimit } from "#platform/repo.ts";
import { auditActor, type UseCaseDeps } from "./context.ts";

/** What `tasks list` and `GET /api/tasks` show of a task (CONTRACT.md's fields first). */
export function taskView(task: Task) {
  return {
    taskId: task.taskId,
    rmId: task.rmId,
    customerId: task.customerId,
    campaignId: task.campaignId,
    status: task.status,
    dueAt: task.dueAt,
    attempts: task.attempts ?? 0,
    ...(task.outcome ? { outcome: task.outcome } : {}),
    priority: task.priority,
    branchId: task.branchId ?? null,
    context: task.context,
    ...(task.note !== undefined ? { note: task.note } : {}),
    ...(task.closedBy ? { closedBy: task.closedBy, closedAt: task.closedAt } : {}),
    ...(task.handovers?.length ? { handovers: task.handovers } : {}),
    createdAt: task.createdAt,
  };
}

/**
 * The tasks an actor may see: an RM their own (asking for another RM's is 403 other_rm); a branch user
 * (the branch manager) their branch's, of one RM or all; head office every task, or one RM's.
 */
export async function listTasksAs(
  deps: UseCaseDeps,
  actor: Actor,
  options: { rmId?: string; status?: StatusFilter } = {},
): Promise<Task[]> {
  const status = options.status ?? "open";
  if (actor.role === "rm") {
    const own = rmIdOf(actor);
    if (options.rmId && options.rmId !== own)
      throw new ForbiddenError(`RM ${own} cannot list the tasks of RM ${options.rmId}`, "other_rm");
    return inBranch(actor, await tasksOfRm(deps.repo, own, status));
  }
  if (options.rmId) return inBranch(actor, await tasksOfRm(deps.repo, options.rmId, status));
  if (actor.branchId) return tasksOfBranch(deps.repo, actor.branchId, status);
  return allTasks(deps.repo, deps.config.shards, status);
}

/**
 * One page of the tasks an actor may see (the same scope as listTasksAs), narrowed to the open ones past
 * due (`overdue`) or to those due by a moment (`dueBy`), and the cursor of the next page.
 */
export async function taskPageAs(
  deps: UseCaseDeps,
  actor: Actor,
  options: {
    rmId?: string;
    status?: StatusFilter;
    dueBy?: string;
    overdue?: boolean;
    cursor?: string;
    limit: number;
  },
): Promise<{ tasks: Task[]; next?: string }> {
  let status = options.status ?? "open";
  let dueBy = options.dueBy;
  if (options.overdue) {
    if (status === "done") throw new InputError("overdue: only open tasks are overdue (status open or all)");
    status = "open";
    // Past due: due strictly before now (a task due this millisecond is not late yet).
    const now = new Date(deps.now().getTime() - 1).toISOString();
    dueBy = dueBy && dueBy < now ? dueBy : now;
  }
  let scope: TaskScope;
  if (actor.role === "rm") {
    const own = rmIdOf(actor);
    if (options.rmId && options.rmId !== own)
      throw new ForbiddenError(`RM ${own} cannot list the tasks of RM ${options.rmId}`, "other_rm");
    scope = { rmId: own };
  } else if (options.rmId) scope = { rmId: options.rmId };
  else if (actor.branchId) scope = { branchId: actor.branchId };
  else scope = { all: true };
  const page = await taskPage(
    deps.repo,
    scope,
    { status, ...(dueBy ? { dueBy } : {}) },
    {
      ...(options.cursor ? { cursor: options.cursor } : {}),
      limit: options.limit,
      shards: deps.config.shards,
    },
  );
  return {
    tasks: "rmId" in scope ? inBranch(actor, page.tasks) : page.tasks,
    ...(page.next ? { next: page.next } : {}),
  };
}

// An RM's partition can hold tasks of customers of several branches (a handover across branches is
// refused, but a customer may move branch): a branch user sees only their branch's.
const inBranch = (actor: Actor, tasks: Task[]) =>
  actor.branchId ? tasks.filter((t) => t.branchId === actor.branchId) : tasks;

/** One task, if the actor may see it (404 when there is none, 403 other_branch / other_rm). */
export async function taskInScope(deps: UseCaseDeps, actor: Actor, taskId: string): Promise<Task> {
  const task = await getTask(deps.repo, taskId);
  if (!task) throw new NotFoundError(`no task "${taskId}"`);
  assertRmScope(actor, `task ${taskId}`, task);
  return task;
}

/**
 * Records a call's outcome (CONTRACT.md `tasks complete`): `no_answer` is an attempt and the task stays
 * open; any other outcome closes it; the same outcome again changes nothing; another is 409. Then what
 * the outcome means elsewhere, through its owners: a contact outcome moves the campaign's funnel, a
 * wrong number closes the phone. Those steps are idempotent and run again on a repeat, so a crash
 * between the close and them is mended by running the command again.
 */
export async function completeTaskAs(
  deps: UseCaseDeps,
  actor: Actor,
  taskId: string,
  input: { outcome: TaskOutcome; note?: string },
) {
  const task = await taskInScope(deps, actor, taskId);
  const at = deps.now().toISOString();
  const result = await recordOutcome(
    deps.repo,
    task,
    {
      outcome: input.outcome,
      ...(input.note !== undefined ? { note: input.note } : {}),
      by: actor.userId,
      at,
    },
    deps.config.shards,
  );
  const after = result.task;
  if (result.changed)
    await appendAudit(deps, {
      entity: "task",
      entityId: taskId,
      action: after.status === "done" ? "complete" : "attempt",
      actor: auditActor(actor),
      at,
      before: { status: task.status, attempts: task.attempts ?? 0, rmId: task.rmId },
      // The note is about a person: the trail says only that there is one.
      after: {
        status: after.status,
        outcome: input.outcome,
        attempts: after.attempts,
        ...(input.note ? { note: "(recorded)" } : {}),
      },
    });
  if (after.status === "done") await applyOutcome(deps, after, after.closedAt ?? at);
  return after;
}

/** DOMAIN.md: maintenance converts on a completed contact; an invitation's call is its response. */
async function applyOutcome(deps: UseCaseDeps, task: Task, at: string) {
  if (task.outcome === "wrong_number") {
    await markPhoneWrong(deps.repo, deps.secret, task.customerId, at);
    return;
  }
  if (!task.outcome || (!CONTACT_OUTCOMES.has(task.outcome) && task.outcome !== "declined")) return;
  const row = await readRow(
    deps.repo,
    task.campaignId,
    shardOf(task.customerId, deps.config.shards),
    task.customerId,
  );
  if (!row || row.holdout || row.decision !== "sent") return;
  const playbook = (await findCampaign(deps.repo, task.campaignId))?.campaign.playbook;
  // Declining is an answer (responded), never the conversion.
  const stage =
    CONTACT_OUTCOMES.has(task.outcome) && playbook === "key-maintenance" ? "converted" : "responded";
  await advanceStage(deps.repo, row, stage, new Date(at), {}, undefined, deps.config.quietHours.timeZone);
}

/**
 * A branch manager hands an open task to another RM of the branch (a user with the rm role there); the
 * task keeps who had it. Head office may reassign within the task's branch too.
 */
export async function reassignTaskAs(deps: UseCaseDeps, actor: Actor, taskId: string, toRmId: string) {
  const task = await taskInScope(deps, actor, taskId);
  if (task.status !== "open")
    throw new ConflictError(`task ${taskId} is closed; only open tasks can be reassigned`, "task_closed");
  if (toRmId === task.rmId) return task;
  const target = await findRm(deps, toRmId);
  if (!target || (target.branchId ?? undefined) !== task.branchId)
    throw new InputError(
      `to: ${toRmId} is not an RM of branch ${task.branchId ?? "(head office)"} (add them with users add --role rm)`,
    );
  const at = deps.now().toISOString();
  const after = await reassignTask(deps.repo, task, { to: toRmId, by: actor.userId, at });
  await appendAudit(deps, {
    entity: "task",
    entityId: taskId,
    action: "reassign",
    actor: auditActor(actor),
    at,
    before: { rmId: task.rmId },
    after: { rmId: after.rmId },
  });
  return after;
}

/** The user with the rm role whose RM id is `rmId` (by user id: the RM id defaults to it). */
async function findRm(deps: UseCaseDeps, rmId: string) {
  const user = await findUser(deps.repo, rmId);
  return user?.role === "rm" && rmIdOf(user) === rmId ? user : undefined;
}

/**
 * An RM leaves or goes on leave: every open task of theirs that the actor may see goes to another RM of
 * the branch, each as a reassign (audited, the handover kept on the task), and so does their book: each
 * customer of the branch whose RM they are moves to the new RM through the customers' owner (`rmId` and
 * the book index; the old RM kept in the record's `rmHistory`), with one audit entry naming every
 * customer moved (`books` / `rm.<from>`). The branch is the branch manager's own (head office: the new RM's). Closed tasks stay
 * theirs: the history of who made the call does not move. Customers of other branches stay in their book
 * (`customersKept`). Nothing of theirs in the actor's scope is a 404.
 */
export async function handoverAs(deps: UseCaseDeps, actor: Actor, fromRmId: string, toRmId: string) {
  if (actor.role === "rm") throw new ForbiddenError("an RM cannot hand over tasks", "forbidden");
  if (fromRmId === toRmId) throw new InputError("to: the RM who takes the tasks must be another RM");
  const open = await listTasksAs(deps, actor, { rmId: fromRmId, status: "open" });
  const target = await findRm(deps, toRmId);
  const branchId = actor.branchId ?? target?.branchId ?? undefined;
  const book: string[] = [];
  let kept = 0;
  for (let cursor: string | undefined, more = true; more; ) {
    const page = await bookPage(deps.repo, fromRmId, cursor, 500);
    for (const c of page.customers)
      if (branchId && c.branchId === branchId) book.push(c.customerId);
      else kept++;
    cursor = page.next ?? undefined;
    more = page.next !== null;
  }
  if (open.length === 0 && book.length === 0)
    throw new NotFoundError(`RM ${fromRmId} has no open tasks nor customers you can hand over`);
  if (book.length && (!target || target.branchId !== branchId))
    throw new InputError(
      `to: ${toRmId} is not an RM of branch ${branchId} (add them with users add --role rm --branch ${branchId})`,
    );
  const moved: string[] = [];
  for (const task of open) moved.push((await reassignTaskAs(deps, actor, task.taskId, toRmId)).taskId);
  const at = deps.now().toISOString();
  const move = { from: fromRmId, to: toRmId, by: actor.userId, at };
  const done = await mapLimit(book, 8, async (id) =>
    (await moveToRm(deps.repo, id, move)) ? id : undefined,
  );
  const customerIds = done.filter((id): id is string => id !== undefined).sort();
  if (customerIds.length)
    await appendAudit(deps, {
      entity: "books",
      entityId: `rm.${fromRmId}`,
      action: "handover",
      actor: auditActor(actor),
      at,
      before: { rmId: fromRmId },
      after: { rmId: toRmId, branchId, customers: customerIds.length, customerIds },
    });
  return {
    from: fromRmId,
    to: toRmId,
    moved: moved.length,
    taskIds: moved,
    customers: customerIds.length,
    customersKept: kept + (book.length - customerIds.length),
  };
}

/**
 * The branch manager's view of the branch's RMs: every `rm` user of the branch (head office: of the bank,
 * or of `branch`) and every RM holding an open task there, with their open and overdue task counts.
 */
export async function rmsOfBranchAs(deps: UseCaseDeps, actor: Actor, branch?: string) {
  if (actor.role === "rm") throw new ForbiddenError("an RM cannot list the branch's RMs", "forbidden");
  const branchId = actor.branchId ?? branch;
  const users = (await listUsers(deps.repo)).filter(
    (u) => u.role === "rm" && (!branchId || u.branchId === branchId),
  );
  const open = branchId
    ? await tasksOfBranch(deps.repo, branchId, "open")
    : await allTasks(deps.repo, deps.config.shards, "open");
  const now = deps.now().toISOString();
  const rms = new Map<
    string,
    { rmId: string; branchId: string | null; user: boolean; open: number; overdue: number }
  >();
  for (const u of users)
    rms.set(rmIdOf(u), { rmId: rmIdOf(u), branchId: u.branchId ?? null, user: true, open: 0, overdue: 0 });
  for (const t of open) {
    const rm = rms.get(t.rmId) ?? {
      rmId: t.rmId,
      branchId: t.branchId ?? null,
      user: false,
      open: 0,
      overdue: 0,
    };
    rm.open++;
    if (t.dueAt < now) rm.overdue++;
    rms.set(t.rmId, rm);
  }
  return {
    branchId: branchId ?? null,
    rms: [...rms.values()].sort(
      (a, b) => b.overdue - a.overdue || b.open - a.open || a.rmId.localeCompare(b.rmId),
    ),
  };
}
