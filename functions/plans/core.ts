import { pagesOf, shardTasks } from "#functions/campaign/segment.ts";
import { localDay } from "#functions/campaign/time.ts";
import type { Customer } from "#functions/customers/record.ts";
import { type Staff, type StaffRole, staffOfBranch } from "#functions/staff/store.ts";
import { endOfLocalDay } from "#functions/tasks/provider.ts";
import { countsAsContact, createTask, getTasks, type Task, taskIdOf } from "#functions/tasks/store.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { hash32 } from "#platform/hash.ts";
import type { Repo } from "#platform/repo.ts";

/**
 * The corporate contact plan (000:547): visits or contacts per month, by customer class and by the
 * role of the bank's person. Each month, every class-1/2/3 customer's required contacts become RM tasks
 * for the named people (the customer's own RM; the branch's president or a VP, corporate-department
 * head, outlet head or deputy, chosen by a stable hash so the same person keeps the customer).
 */
export const PLAN_RULES = [
  {
    group: "president_vp",
    roles: ["president", "vice_president"],
    perMonth: 1,
    classes: ["class1", "class2"],
  },
  { group: "corp_head", roles: ["corp_head"], perMonth: 2, classes: ["class1", "class2"] },
  { group: "rm", roles: ["rm"], perMonth: 3, classes: ["class1", "class2", "class3"] },
  {
    group: "outlet_head",
    roles: ["outlet_head", "outlet_deputy"],
    perMonth: 2,
    classes: ["class2", "class3"],
  },
] as const satisfies readonly {
  group: string;
  roles: readonly StaffRole[];
  perMonth: number;
  classes: readonly string[];
}[];
export type PlanGroup = (typeof PLAN_RULES)[number]["group"];

const CLASSES = ["class1", "class2", "class3"];

/** The plan's task "campaign": one per month × role group × visit number (campaign ids have no '.'). */
export const planCampaignId = (month: string, group: PlanGroup, visit: number) =>
  `plan-${month}-${group.replace("_", "-")}-${visit}`;

interface Deps {
  repo: Repo;
  config: TiercastConfig;
}

/** The month's last instant in the bank's time zone. */
function endOfMonth(month: string, timeZone: string): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0, 12));
  return endOfLocalDay(last, timeZone);
}

async function* corporates(deps: Deps, branch?: string): AsyncGenerator<Customer[]> {
  for (const task of shardTasks(CLASSES, deps.config.shards))
    for await (const page of pagesOf(deps.repo, "corporate", task, 1000)) {
      const mine = page.filter((c) => !branch || c.branchId === branch);
      if (mine.length) yield mine;
    }
}

/** Who makes a required contact: the customer's RM, or one of the branch's people in the role (stable). */
function assignee(rule: (typeof PLAN_RULES)[number], customer: Customer, staff: Staff[]): string | undefined {
  if (rule.group === "rm") return customer.rmId;
  const people = staff
    .filter((s) => (rule.roles as readonly string[]).includes(s.role))
    .sort((a, b) => a.staffId.localeCompare(b.staffId));
  if (people.length === 0) return undefined;
  return people[hash32(`${rule.group}#${customer.customerId}`) % people.length]!.staffId;
}

function* required(month: string, customer: Customer) {
  for (const rule of PLAN_RULES) {
    if (!(rule.classes as readonly string[]).includes(customer.tier)) continue;
    for (let visit = 1; visit <= rule.perMonth; visit++)
      yield { rule, visit, taskId: taskIdOf(planCampaignId(month, rule.group, visit), customer.customerId) };
  }
}

/**
 * Makes the month's plan tasks, once (a second run finds them). A required contact with nobody in the
 * role at the branch is counted `unassigned`, never dropped silently.
 */
export async function runPlan(deps: Deps, month: string, now: Date, options: { branch?: string } = {}) {
  const staffCache = new Map<string, Staff[]>();
  const staffOf = async (branchId: string) => {
    if (!staffCache.has(branchId)) staffCache.set(branchId, await staffOfBranch(deps.repo, branchId));
    return staffCache.get(branchId)!;
  };
  const dueAt = endOfMonth(month, deps.config.quietHours.timeZone);
  const counts = { customers: 0, created: 0, existing: 0, unassigned: 0 };
  for await (const page of corporates(deps, options.branch))
    for (const customer of page) {
      counts.customers++;
      const staff = customer.branchId ? await staffOf(customer.branchId) : [];
      for (const { rule, visit, taskId } of required(month, customer)) {
        const person = assignee(rule, customer, staff);
        if (!person) {
          counts.unassigned++;
          continue;
        }
        const task: Task = {
          taskId,
          rmId: person,
          customerId: customer.customerId,
          campaignId: planCampaignId(month, rule.group, visit),
          ...(customer.branchId ? { branchId: customer.branchId } : {}),
          status: "open",
          dueAt,
          priority: customer.tier === "class1" ? "high" : customer.tier === "class2" ? "normal" : "low",
          context: {
            tier: customer.tier,
            scheme: "corporate",
            playbook: "contact-plan",
            campaignName: `${month} ${rule.group} ${visit}/${rule.perMonth}`,
            ...(customer.products?.length ? { products: customer.products } : {}),
          },
          attempts: 0,
          createdAt: now.toISOString(),
        };
        if (await createTask(deps.repo, task, deps.config.shards)) counts.created++;
        else counts.existing++;
      }
    }
  return { month, ...counts };
}

/**
 * The plan report per class × role group × branch: required, done (a contact made in the month), missing,
 * and of the missing those with no task at all (`unassigned`: nobody in the role at the branch).
 */
export async function planReport(deps: Deps, month: string, options: { branch?: string } = {}) {
  const rows = new Map<
    string,
    { class: string; role: PlanGroup; branchId: string; required: number; done: number; unassigned: number }
  >();
  const inMonth = (at: string | undefined) =>
    Boolean(at && localDay(new Date(at), deps.config.quietHours.timeZone).startsWith(month));
  for await (const page of corporates(deps, options.branch)) {
    const wanted = page.flatMap((c) => [...required(month, c)].map((r) => ({ c, ...r })));
    const tasks = new Map(
      (
        await getTasks(
          deps.repo,
          wanted.map((w) => w.taskId),
        )
      ).map((t) => [t.taskId, t]),
    );
    for (const w of wanted) {
      const k = `${w.c.tier}#${w.rule.group}#${w.c.branchId ?? ""}`;
      const row = rows.get(k) ?? {
        class: w.c.tier,
        role: w.rule.group,
        branchId: w.c.branchId ?? "",
        required: 0,
        done: 0,
        unassigned: 0,
      };
      row.required++;
      const t = tasks.get(w.taskId);
      // No task: nobody holds the role at the branch (or the plan has not run for the month).
      if (!t) row.unassigned++;
      if (t?.status === "done" && countsAsContact(t.outcome) && inMonth(t.closedAt)) row.done++;
      rows.set(k, row);
    }
  }
  const report = [...rows.values()]
    .map((r) => ({ ...r, missing: r.required - r.done }))
    .sort(
      (a, b) =>
        a.class.localeCompare(b.class) ||
        a.role.localeCompare(b.role) ||
        a.branchId.localeCompare(b.branchId),
    );
  return { month, rows: report };
}
