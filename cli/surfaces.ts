import { type Command, Option } from "commander";
import type { Role } from "#functions/access/users.ts";
import { UsageError } from "#platform/errors.ts";
import { lib, loadCommands, localOperator, useCaseDeps, withRuntime } from "./context.ts";
import { emit, fmt, type GlobalOptions, table } from "./output.ts";

// The roles, spelled here so the help needs no zod; the type below stops compiling when
// access/users.ts gains a role this list lacks.
const ROLES = [
  "marketer",
  "approver",
  "analyst",
  "admin",
  "rm",
  "branch_manager",
] as const satisfies readonly Role[];
const everyRole: [Exclude<Role, (typeof ROLES)[number]>] extends [never] ? true : never = true;
void everyRole;

const OUTCOMES = ["reached", "appointment", "interested", "declined", "no_answer", "wrong_number"] as const;

/** `tasks list` and `tasks complete` (CONTRACT.md "RM tasks"): the RM's work, through the same use cases as the API. */
function addTaskCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  const tasks = program.command("tasks").description("RM call tasks: list them, record a call's outcome");
  tasks
    .command("list")
    .description("RM tasks, due first (default: open ones)")
    .option("--rm <rmId>", "one RM's tasks")
    .addOption(
      new Option("--status <status>", "open, done or all").choices(["open", "done", "all"]).default("open"),
    )
    .option(
      "--due <date>",
      "only tasks due by the end of this day (YYYY-MM-DD, bank time) or this ISO instant",
    )
    .option("--overdue", "only open tasks past due")
    .option("--limit <n>", "a page of at most n tasks (1-1000), with the next page's cursor as next")
    .option("--cursor <cursor>", "continue from a page's next")
    .action(
      async (
        o: {
          rm?: string;
          status: "open" | "done" | "all";
          due?: string;
          overdue?: boolean;
          limit?: string;
          cursor?: string;
        },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        const limit = o.limit === undefined ? undefined : Number(o.limit);
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000))
          throw new UsageError("--limit: an integer from 1 to 1000");
        const paged = limit !== undefined || o.cursor !== undefined;
        const page = await withRuntime(options, async (runtime, now) => {
          const deps = useCaseDeps(runtime, now);
          let dueBy: string | undefined;
          try {
            dueBy = o.due === undefined ? undefined : lib.dueByOf(o.due, runtime.config.quietHours.timeZone);
          } catch (err) {
            throw new UsageError(`--${(err as Error).message}`);
          }
          const filter = {
            ...(o.rm ? { rmId: o.rm } : {}),
            status: o.status,
            ...(dueBy ? { dueBy } : {}),
            ...(o.overdue ? { overdue: true } : {}),
          };
          if (paged)
            return lib.taskPageAs(deps, localOperator(), {
              ...filter,
              ...(o.cursor ? { cursor: o.cursor } : {}),
              limit: limit ?? 500,
            });
          // Every task, page by page (CONTRACT.md: `tasks list` lists them all).
          const all: Awaited<ReturnType<typeof lib.taskPageAs>>["tasks"] = [];
          let cursor: string | undefined;
          do {
            const p = await lib.taskPageAs(deps, localOperator(), {
              ...filter,
              ...(cursor ? { cursor } : {}),
              limit: 1000,
            });
            all.push(...p.tasks);
            cursor = p.next;
          } while (cursor);
          return { tasks: all };
        });
        const rows = page.tasks;
        const views = rows.map(lib.taskView);
        emit(options, paged ? { tasks: views, next: page.next ?? null } : { tasks: views }, () =>
          table(
            ["task", "RM", "customer", "tier", "priority", "due", "status", "attempts", "outcome"],
            views.map((t) => [
              t.taskId,
              t.rmId,
              t.customerId,
              t.context.tier,
              t.priority,
              t.dueAt,
              t.status,
              t.attempts,
              t.outcome ?? "",
            ]),
          ),
        );
      },
    );
  tasks
    .command("complete")
    .description("record a call: no_answer logs an attempt and keeps the task open; the others close it")
    .argument("<taskId>")
    .addOption(new Option("--outcome <outcome>", OUTCOMES.join(", ")).choices(OUTCOMES).makeOptionMandatory())
    .option("--note <text>", "what the RM wants to remember (kept with the task, never logged)")
    .action(
      async (taskId: string, o: { outcome: (typeof OUTCOMES)[number]; note?: string }, cmd: Command) => {
        const options = globals(cmd);
        if (o.note !== undefined && o.note.length > 2000)
          throw new UsageError("--note: at most 2000 characters");
        const task = await withRuntime(options, (runtime, now) =>
          lib.completeTaskAs(useCaseDeps(runtime, now), localOperator(), taskId, {
            outcome: o.outcome,
            ...(o.note !== undefined ? { note: o.note } : {}),
          }),
        );
        const result = { taskId: task.taskId, status: task.status, outcome: o.outcome };
        emit(
          options,
          result,
          () => `${task.taskId}: ${o.outcome}, ${task.status} (${task.attempts} attempts)`,
        );
      },
    );
  addHandoverCommand(tasks, globals);
}

/** `books`: potential and quality customers without an RM, and RMs over the book cap (000:640). */
function addBooksCommand(program: Command, globals: (cmd: Command) => GlobalOptions) {
  program
    .command("books")
    .description("RM books: potential/quality customers without an RM, and RMs over the cap (rm.bookCap)")
    .option("--branch <branchId>", "only this branch")
    .option("--cap <n>", "the book cap (default: rm.bookCap, 800)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--cap must be an integer ≥ 1, got "${v}"`);
      return n;
    })
    .action(async (o: { branch?: string; cap?: number }, cmd: Command) => {
      const options = globals(cmd);
      const report = await withRuntime(options, (runtime) => lib.booksReport(runtime, o));
      emit(options, report, () =>
        [
          `${fmt(report.customers)} customers, ${fmt(report.rms)} RMs; without an RM: ${fmt(report.unassigned)} (${Object.entries(
            report.unassignedByTier,
          )
            .map(([tier, n]) => `${tier} ${fmt(n)}`)
            .join(", ")}); over the cap of ${fmt(report.cap)}: ${fmt(report.overCap.length)} RMs`,
          table(
            ["RM", "customers", "over"],
            report.overCap.slice(0, 20).map((r) => [r.rmId, fmt(r.customers), fmt(r.over)]),
          ),
        ].join("\n"),
      );
    });
}

/** `rewards list` / `rewards pay`: referral rewards for the bank's settlement (CSV) and their payment. */
function addRewardCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  const rewards = program
    .command("rewards")
    .description("referral rewards: list or export them, mark one paid");
  rewards
    .command("list")
    .description("rewards of every referral drive (or one), for the settlement")
    .option("--campaign <campaignId>", "one referral drive")
    .addOption(
      new Option("--status <status>", "due, paid or all").choices(["due", "paid", "all"]).default("all"),
    )
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv"]))
    .action(
      async (o: { campaign?: string; status: "due" | "paid" | "all"; format?: string }, cmd: Command) => {
        const options = globals(cmd);
        const rows = await withRuntime(options, (runtime, now) =>
          lib.listRewardsAs(useCaseDeps(runtime, now), localOperator(), {
            ...(o.campaign ? { campaignId: o.campaign } : {}),
            status: o.status,
          }),
        );
        if (o.format === "csv" && !options.json) {
          process.stdout.write(lib.csvRow(lib.REWARD_COLUMNS));
          for (const r of rows)
            process.stdout.write(
              lib.csvRow(lib.REWARD_COLUMNS.map((c) => (r as unknown as Record<string, unknown>)[c] ?? "")),
            );
          return;
        }
        emit({ json: options.json || o.format === "json" }, { rewards: rows }, () =>
          table(
            ["drive", "referrer", "referee", "reward", "at", "status"],
            rows.map((r) => [r.campaignId, r.referrerId, r.refereeId, r.reward, r.at, r.status]),
          ),
        );
      },
    );
  rewards
    .command("pay")
    .description("mark a reward paid (once); --reference is the bank's settlement reference")
    .argument("<campaignId>")
    .argument("<referrerId>")
    .option("--reference <ref>", "the settlement batch or voucher number")
    .action(async (campaignId: string, referrerId: string, o: { reference?: string }, cmd: Command) => {
      const options = globals(cmd);
      const reward = await withRuntime(options, (runtime, now) =>
        lib.payRewardAs(useCaseDeps(runtime, now), localOperator(), campaignId, referrerId, o.reference),
      );
      emit(options, reward, () => `${campaignId} ${referrerId}: ${reward.status} (${reward.paidAt ?? ""})`);
    });
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const monthOf = (value: string | undefined, now: () => Date) => {
  if (value !== undefined && !MONTH.test(value))
    throw new UsageError(`--month must be YYYY-MM, got "${value}"`);
  return value ?? now().toISOString().slice(0, 7);
};

/** `staff import` and `plan run|report`: the corporate contact plan (000:547). */
function addPlanCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  program
    .command("staff")
    .description(
      "the bank's staff by role and branch (president, vice_president, corp_head, rm, outlet_head, outlet_deputy)",
    )
    .command("import")
    .description("upsert staff from .jsonl, .csv or .xlsx: staffId, role, branchId, name")
    .argument("<file>")
    .action(async (file: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const report = await withRuntime(options, async (runtime, now) =>
        lib.importStaffAs(useCaseDeps(runtime, now), localOperator(), await lib.openSource(file)),
      );
      emit(
        options,
        report,
        () => `${fmt(report.imported)} imported, ${fmt(report.rejected.length)} rejected`,
      );
      if (report.rejected.length && report.imported === 0) process.exitCode = 1;
    });
  const plan = program.command("plan").description("the corporate contact plan per class and role (000:547)");
  plan
    .command("run")
    .description(
      "make the month's required visits of every class-1/2/3 customer into tasks for the named people",
    )
    .option("--month <yyyy-mm>", "the month (default: the month of --at)")
    .action(async (o: { month?: string }, cmd: Command) => {
      const options = globals(cmd);
      if (o.month !== undefined) monthOf(o.month, () => new Date());
      const result = await withRuntime(options, (runtime, now) =>
        lib.runPlanAs(useCaseDeps(runtime, now), localOperator(), monthOf(o.month, now)),
      );
      emit(
        options,
        result,
        () =>
          `${result.month}: ${fmt(result.customers)} corporate customers; ${fmt(result.created)} tasks made (${fmt(result.existing)} already), ${fmt(result.unassigned)} without a person in the role`,
      );
    });
  plan
    .command("report")
    .description("required, done and missing contacts per class × role × branch")
    .option("--month <yyyy-mm>", "the month (default: the month of --at)")
    .option("--branch <branchId>", "only this branch")
    .action(async (o: { month?: string; branch?: string }, cmd: Command) => {
      const options = globals(cmd);
      if (o.month !== undefined) monthOf(o.month, () => new Date());
      const report = await withRuntime(options, (runtime, now) =>
        lib.planReportAs(useCaseDeps(runtime, now), localOperator(), monthOf(o.month, now), o.branch),
      );
      emit(options, report, () =>
        table(
          ["class", "role", "branch", "required", "done", "missing", "unassigned"],
          report.rows.map((r) => [
            r.class,
            r.role,
            r.branchId,
            fmt(r.required),
            fmt(r.done),
            fmt(r.missing),
            fmt(r.unassigned),
          ]),
        ),
      );
    });
}

/** `tasks handover`: an RM leaves; their open tasks and their book go to another RM of the branch. */
function addHandoverCommand(tasks: Command, globals: (cmd: Command) => GlobalOptions) {
  tasks
    .command("handover")
    .description(
      "hand every open task and the book (customers) of an RM to another RM (an rm user of the same branch)",
    )
    .requiredOption("--from <rmId>", "the RM who leaves")
    .requiredOption("--to <rmId>", "the RM who takes the open tasks and the customers")
    .action(async (o: { from: string; to: string }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) =>
        lib.handoverAs(useCaseDeps(runtime, now), localOperator(), o.from, o.to),
      );
      emit(
        options,
        result,
        () =>
          `${fmt(result.moved)} open tasks and ${fmt(result.customers)} customers of ${result.from} now with ${result.to}` +
          (result.customersKept ? ` (${fmt(result.customersKept)} customers of other branches stay)` : ""),
      );
    });
}

/** `serve`, `users` and `schedule`: the commands behind the marketer and analyst surfaces. */
export function addSurfaceCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  program.hook("preAction", async () => {
    await loadCommands();
  });
  addTaskCommands(program, globals);
  addBooksCommand(program, globals);
  addRewardCommands(program, globals);
  addPlanCommands(program, globals);
  program
    .command("serve")
    .description("HTTP API + web console on 127.0.0.1 (with the dispatch workers and the scheduler)")
    .option("--port <n>", "port (default 8787; 0 picks a free one)", (v) => Number(v), 8787)
    .action(async (o: { port: number }, cmd: Command) => {
      const options = globals(cmd);
      await withRuntime(options, async (runtime) => {
        const server = await lib.startServe(runtime, { port: o.port });
        process.stderr.write(`tiercast: serving the API and console on ${server.url} (Ctrl-C stops)\n`);
        const sms = runtime.settings.sms;
        if (sms.provider === "aliyun" || sms.provider === "tencent")
          process.stderr.write(
            `tiercast: SMS goes through the local ${sms.provider} gateway at ${sms.endpoint} (it verifies each request's signature)\n`,
          );
        emit(options, { url: server.url }, () => `${server.url}`);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        await server.stop();
      });
    });

  const users = program.command("users").description("API users and their tokens");
  users
    .command("add")
    .description("add a user (or change their role) and print a new token; the old one stops working")
    .argument("<userId>")
    .addOption(
      new Option("--role <role>", "marketer, approver, analyst, admin, rm or branch_manager")
        .choices(ROLES)
        .makeOptionMandatory(),
    )
    .option("--branch <branchId>", "a branch user sees and targets only this branch")
    .option("--rm-id <rmId>", "an rm's id in the customer records (default: the user id)")
    .action(async (userId: string, o: { role: string; branch?: string; rmId?: string }, cmd: Command) => {
      const options = globals(cmd);
      const parsed = lib.NewUser.safeParse({
        userId,
        role: o.role,
        ...(o.branch ? { branchId: o.branch } : {}),
        ...(o.rmId ? { rmId: o.rmId } : {}),
      });
      if (!parsed.success)
        throw new UsageError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      const user = parsed.data;
      const result = await withRuntime(options, (runtime, now) =>
        lib.addUserAs(useCaseDeps(runtime, now), localOperator(), user),
      );
      emit(options, { ...result.user, token: result.token }, () => result.token);
    });
  users
    .command("list")
    .description("users and roles")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const rows = await withRuntime(options, (runtime) => lib.listUsers(runtime.repo));
      emit(options, { users: rows }, () =>
        table(
          ["user", "role", "branch"],
          rows.map((u) => [u.userId, u.role, u.branchId ?? ""]),
        ),
      );
    });

  const schedule = program
    .command("schedule")
    .description("recurring and care campaigns (cron in Asia/Shanghai)");
  schedule
    .command("set")
    .description('run an approved campaign on a cron, e.g. --cron "0 10 1 * *" (10:00 on the 1st, monthly)')
    .argument("<scheduleId>")
    .requiredOption("--campaign <campaignId>", "the approved campaign each run copies")
    .requiredOption("--cron <expr>", "minute hour day-of-month month day-of-week")
    .option("--holidays-only", "run only on the config's holidays")
    .option("--disabled", "save it switched off")
    .action(
      async (
        scheduleId: string,
        o: { campaign: string; cron: string; holidaysOnly?: boolean; disabled?: boolean },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        const raw = {
          scheduleId,
          campaignId: o.campaign,
          cron: o.cron,
          holidaysOnly: Boolean(o.holidaysOnly),
          enabled: !o.disabled,
        };
        // Validated before the runtime starts, so a bad cron is exit 2 without touching the data dir.
        lib.validateSchedule(raw);
        const record = await withRuntime(options, (runtime, now) =>
          lib.setSchedule(useCaseDeps(runtime, now), localOperator(), raw),
        );
        emit(options, record, () => `${scheduleId}: next run ${record.nextRunAt}`);
      },
    );
  schedule
    .command("delete")
    .description("delete a schedule (runs already started continue)")
    .argument("<scheduleId>")
    .action(async (scheduleId: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) =>
        lib.deleteSchedule(useCaseDeps(runtime, now), localOperator(), scheduleId),
      );
      emit(options, result, () => `${scheduleId}: deleted`);
    });
  schedule
    .command("list")
    .description("schedules and their next run")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const rows = await withRuntime(options, (runtime) => lib.listSchedules(runtime.repo));
      emit(options, { schedules: rows }, () =>
        table(
          ["schedule", "campaign", "cron", "next run", "last campaign"],
          rows.map((r) => [r.scheduleId, r.campaignId, r.cron, r.nextRunAt, r.lastCampaignId ?? ""]),
        ),
      );
    });
}
