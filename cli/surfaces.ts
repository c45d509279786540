import { type Command, Option } from "commander";
import { listSchedules, saveSchedule, validateSchedule } from "#functions/schedules/core.ts";
import { startServe } from "#local/serve.ts";
import { appendAudit } from "#shared/audit.ts";
import { loadCampaign } from "#shared/campaigns.ts";
import { UsageError } from "#shared/errors.ts";
import { addUser, listUsers, NewUser, ROLES } from "#shared/users.ts";
import { withRuntime } from "./context.ts";
import { emit, type GlobalOptions, table } from "./output.ts";

const OPERATOR = { userId: "cli", role: "admin" as const };

/** `serve`, `users` and `schedule`: the commands behind the marketer and analyst surfaces. */
export function addSurfaceCommands(program: Command, globals: (cmd: Command) => GlobalOptions) {
  program
    .command("serve")
    .description("HTTP API + web console on 127.0.0.1 (with the dispatch workers and the scheduler)")
    .option("--port <n>", "port (default 8787; 0 picks a free one)", (v) => Number(v), 8787)
    .action(async (o: { port: number }, cmd: Command) => {
      const options = globals(cmd);
      await withRuntime(options, async (runtime) => {
        const server = await startServe(runtime, { port: o.port });
        process.stderr.write(`tiercast: serving the API and console on ${server.url} (Ctrl-C stops)\n`);
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
      new Option("--role <role>", "marketer, approver, analyst or admin")
        .choices(ROLES)
        .makeOptionMandatory(),
    )
    .option("--branch <branchId>", "a branch user sees and targets only this branch")
    .action(async (userId: string, o: { role: string; branch?: string }, cmd: Command) => {
      const options = globals(cmd);
      const parsed = NewUser.safeParse({ userId, role: o.role, ...(o.branch ? { branchId: o.branch } : {}) });
      if (!parsed.success)
        throw new UsageError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      const user = parsed.data;
      const result = await withRuntime(options, async (runtime, now) => {
        const added = await addUser(runtime.repo, user, now());
        await appendAudit(runtime.repo, {
          entity: "user",
          entityId: userId,
          action: "add",
          actor: OPERATOR,
          at: now().toISOString(),
          after: user,
        });
        return added;
      });
      emit(options, { ...result.user, token: result.token }, () => result.token);
    });
  users
    .command("list")
    .description("users and roles")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const rows = await withRuntime(options, (runtime) => listUsers(runtime.repo));
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
        const s = validateSchedule({
          scheduleId,
          campaignId: o.campaign,
          cron: o.cron,
          holidaysOnly: Boolean(o.holidaysOnly),
          enabled: !o.disabled,
        });
        const record = await withRuntime(options, async (runtime, now) => {
          await loadCampaign(runtime.repo, s.campaignId);
          const saved = await saveSchedule(
            runtime.repo,
            s,
            now(),
            OPERATOR,
            runtime.config.quietHours.timeZone,
          );
          await appendAudit(runtime.repo, {
            entity: "schedule",
            entityId: scheduleId,
            action: "save",
            actor: OPERATOR,
            at: now().toISOString(),
            after: saved,
          });
          return saved;
        });
        emit(options, record, () => `${scheduleId}: next run ${record.nextRunAt}`);
      },
    );
  schedule
    .command("list")
    .description("schedules and their next run")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const rows = await withRuntime(options, (runtime) => listSchedules(runtime.repo));
      emit(options, { schedules: rows }, () =>
        table(
          ["schedule", "campaign", "cron", "next run", "last campaign"],
          rows.map((r) => [r.scheduleId, r.campaignId, r.cron, r.nextRunAt, r.lastCampaignId ?? ""]),
        ),
      );
    });
}
