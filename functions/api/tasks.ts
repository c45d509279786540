import { z } from "zod";
import { assertInScope, assertRmScope, rmIdOf } from "#functions/access/scope.ts";
import type { Role } from "#functions/access/users.ts";
import { maskContact } from "#functions/campaign/preview.ts";
import { booksReport } from "#functions/customers/reports.ts";
import { bookPage, getCustomer } from "#functions/customers/store.ts";
import { dueByOf } from "#functions/tasks/provider.ts";
import { OUTCOMES } from "#functions/tasks/store.ts";
import { planReportAs } from "#functions/usecases/plans.ts";
import {
  completeTaskAs,
  handoverAs,
  reassignTaskAs,
  rmsOfBranchAs,
  taskInScope,
  taskPageAs,
  taskView,
} from "#functions/usecases/tasks.ts";
import { ForbiddenError, InputError } from "#platform/errors.ts";
import { type AnyRoute, route } from "./http.ts";

/** Who works tasks: the RM (their own), the branch manager (the branch's), head office's admin. */
const TASK_ROLES: readonly Role[] = ["rm", "branch_manager", "admin"];
const MANAGERS: readonly Role[] = ["branch_manager", "admin"];

const CompleteBody = z.object({
  outcome: z.enum(OUTCOMES),
  note: z.string().max(2000).optional().describe("kept with the task for the RM; never logged or audited"),
});
const ReassignBody = z.object({
  to: z.string().min(1).max(64).describe("the RM (user id) who takes the task"),
});

const statusOf = (value: string | undefined) => {
  const status = value ?? "open";
  if (status !== "open" && status !== "done" && status !== "all")
    throw new InputError(`status must be open, done or all, got "${status}"`);
  return status;
};

/** RM tasks and books (issue 18): every check of role, branch and book is in the use cases. */
export const taskRoutes: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/tasks",
    summary:
      "RM tasks, due first, a page at a time: an RM's own, a branch manager's branch, head office all (?rm=, ?status=, ?due=, ?overdue=)",
    roles: TASK_ROLES,
    query: {
      rm: "one RM's tasks",
      status: "open (default), done or all",
      due: "YYYY-MM-DD (due by the end of that day, bank time) or an ISO instant (due at or before it)",
      overdue: "true: only open tasks past due",
      cursor: "from the previous page's next",
      limit: "1-1000 (default 500)",
    },
    async handle({ actor, query, deps }) {
      const limit = query.limit === undefined ? 500 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InputError("limit must be an integer from 1 to 1000");
      if (query.overdue !== undefined && query.overdue !== "true" && query.overdue !== "false")
        throw new InputError(`overdue must be true or false, got "${query.overdue}"`);
      const page = await taskPageAs(deps, actor, {
        ...(query.rm ? { rmId: query.rm } : {}),
        status: statusOf(query.status),
        ...(query.due ? { dueBy: dueByOf(query.due, deps.config.quietHours.timeZone) } : {}),
        overdue: query.overdue === "true",
        ...(query.cursor ? { cursor: query.cursor } : {}),
        limit,
      });
      return { tasks: page.tasks.map(taskView), next: page.next ?? null };
    },
  }),
  route({
    method: "GET",
    path: "/api/tasks/{taskId}",
    summary: "One task with the customer's name and phone, for the call",
    roles: TASK_ROLES,
    async handle({ actor, params, deps }) {
      const task = await taskInScope(deps, actor, params.taskId!);
      const customer = await getCustomer(deps.repo, task.customerId);
      // The RM whose task it is dials the number; anyone else sees it masked.
      const own = actor.role === "rm" && task.rmId === rmIdOf(actor);
      return {
        ...taskView(task),
        customer: customer
          ? {
              customerId: customer.customerId,
              name: customer.name ?? null,
              phone: customer.phone ? (own ? customer.phone : maskContact(customer.phone)) : null,
              tier: customer.tier,
              lastTransactionAt: customer.lastTransactionAt ?? null,
            }
          : null,
      };
    },
  }),
  route({
    method: "POST",
    path: "/api/tasks/{taskId}/complete",
    summary:
      "Record a call's outcome: no_answer keeps the task open; the others close it (409 on another outcome)",
    roles: TASK_ROLES,
    body: CompleteBody,
    async handle({ actor, params, body, deps }) {
      const input = body as z.infer<typeof CompleteBody>;
      const task = await completeTaskAs(deps, actor, params.taskId!, input);
      return { taskId: task.taskId, status: task.status, outcome: input.outcome, attempts: task.attempts };
    },
  }),
  route({
    method: "POST",
    path: "/api/tasks/{taskId}/reassign",
    summary: "Hand an open task to another RM of the branch (the handover is kept)",
    roles: MANAGERS,
    body: ReassignBody,
    async handle({ actor, params, body, deps }) {
      const task = await reassignTaskAs(
        deps,
        actor,
        params.taskId!,
        (body as z.infer<typeof ReassignBody>).to,
      );
      return taskView(task);
    },
  }),
  route({
    method: "POST",
    path: "/api/rms/{rmId}/handover",
    summary:
      "Hand every open task and the book of an RM to another RM of the branch (an RM leaving); closed tasks and the customers' RM history are kept",
    roles: MANAGERS,
    body: ReassignBody,
    async handle({ actor, params, body, deps }) {
      return handoverAs(deps, actor, params.rmId!, (body as z.infer<typeof ReassignBody>).to);
    },
  }),
  route({
    method: "GET",
    path: "/api/rms",
    summary:
      "The branch's RMs (rm users, and whoever holds an open task there) with their open and overdue task counts",
    roles: MANAGERS,
    query: { branch: "a branch (head office)" },
    async handle({ actor, query, deps }) {
      if (query.branch) assertInScope(actor, `branch ${query.branch}'s RMs`, query.branch);
      return rmsOfBranchAs(deps, actor, query.branch);
    },
  }),
  route({
    method: "GET",
    path: "/api/books",
    summary:
      "RM books: potential/quality customers without an RM and RMs over the cap (a branch's, for its users)",
    roles: MANAGERS,
    query: { branch: "a branch (head office)", cap: "the book cap (default rm.bookCap)" },
    async handle({ actor, query, deps }) {
      if (query.branch) assertInScope(actor, `branch ${query.branch}'s books`, query.branch);
      const cap = query.cap === undefined ? undefined : Number(query.cap);
      if (cap !== undefined && (!Number.isInteger(cap) || cap < 1))
        throw new InputError("cap must be an integer ≥ 1");
      const branch = actor.branchId ?? query.branch;
      return booksReport(deps, { ...(branch ? { branch } : {}), ...(cap ? { cap } : {}) });
    },
  }),
  route({
    method: "GET",
    path: "/api/plans/{month}",
    summary: "The corporate contact plan of a month: required, done, missing per class × role × branch",
    roles: MANAGERS,
    query: { branch: "a branch (head office)" },
    async handle({ actor, params, query, deps }) {
      if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(params.month!)) throw new InputError("month: YYYY-MM");
      if (query.branch) assertInScope(actor, `branch ${query.branch}'s plan`, query.branch);
      return planReportAs(deps, actor, params.month!, query.branch);
    },
  }),
  route({
    method: "GET",
    path: "/api/book",
    summary: "An RM's book: their customers (an RM sees their own; a branch manager names ?rm=)",
    roles: TASK_ROLES,
    query: { rm: "the RM (branch manager, head office)", cursor: "from the previous page", limit: "1-1000" },
    async handle({ actor, query, deps }) {
      const rmId = actor.role === "rm" ? rmIdOf(actor) : query.rm;
      if (!rmId) throw new InputError("rm: name the RM whose book to list");
      if (actor.role === "rm" && query.rm && query.rm !== rmId)
        throw new ForbiddenError(`RM ${rmId} cannot read the book of RM ${query.rm}`, "other_rm");
      const limit = query.limit === undefined ? 200 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new InputError("limit must be an integer from 1 to 1000");
      const page = await bookPage(deps.repo, rmId, query.cursor, limit);
      const customers = page.customers.filter((c) => {
        try {
          assertRmScope(actor, `customer ${c.customerId}`, c);
          return true;
        } catch {
          return false;
        }
      });
      return {
        rmId,
        customers: customers.map((c) => ({
          customerId: c.customerId,
          name: c.name ?? null,
          tier: c.tier,
          branchId: c.branchId ?? null,
          phone: c.phone ? maskContact(c.phone) : null,
          lastTransactionAt: c.lastTransactionAt ?? null,
          products: c.products ?? [],
        })),
        next: page.next,
      };
    },
  }),
];
