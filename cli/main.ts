import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import type { AuditAnchor } from "#functions/audit/store.ts";
import { getCustomer } from "#functions/customers/store.ts";
import type { Runtime } from "#local/runtime.ts";
import type { TiercastConfig } from "#platform/config.ts";
import { InputError, NotFoundError, UsageError } from "#platform/errors.ts";
import { lib, loadCommands, localOperator, parseAt, useCaseDeps, withRuntime } from "./context.ts";
import type { SourceOptions } from "./import.ts";
import { emit, failureMessage, fmt, type GlobalOptions, progressEnabled, table, ticker } from "./output.ts";
import { addPerformanceCommands } from "./performance.ts";
import { addSurfaceCommands } from "./surfaces.ts";

function intArg(name: string, min = 1) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`${name} must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

/** The file options, with the bank's UTC offset for an .xlsx's date-time cells. */
function sourceOptions(o: SourceOptions, config: TiercastConfig): SourceOptions {
  return {
    ...o,
    offsetMinutes: Math.round(lib.localTime(new Date(), config.quietHours.timeZone).offsetMs / 60_000),
  };
}

// Read at run time, relative to this module: the same path from cli/main.ts and from the bundle in dist/.
const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Where a campaign's funnel is, for the progress line of a launch or a simulation. */
async function funnelStatus(runtime: Runtime, campaignId: string): Promise<string> {
  const { total } = await lib.readFunnel(runtime.repo, campaignId);
  return (["targeted", "eligible", "sent", "delivered", "engaged", "converted"] as const)
    .map((stage) => `${stage} ${fmt(total[stage])}`)
    .join(" · ");
}

/** A salon's seats; an event that no campaign invites to and nobody answered is not found (exit 1). */
async function salonReport(runtime: Runtime, eventId: string) {
  const status = await lib.salonStatus(runtime.repo, eventId);
  let capacity = status.capacity;
  if (capacity === 0) {
    for (const listed of await lib.listCampaigns(runtime.repo)) {
      if (listed.playbook !== "salon-invite") continue;
      const event = (await lib.findCampaign(runtime.repo, listed.campaignId))?.campaign.event;
      if (event?.eventId === eventId) capacity = event.capacity;
    }
  }
  if (
    capacity === 0 &&
    status.confirmed + status.waitlisted + status.full + status.cancelled + status.pending === 0
  )
    throw new NotFoundError(`no salon event "${eventId}": no campaign invites to it`);
  return { ...status, capacity };
}

export function buildProgram(): Command {
  const program = new Command("tiercast")
    .description("Tier-aware marketing campaigns for banks")
    .addOption(
      new Option("--data-dir <dir>", "where the embedded runtime keeps its state")
        .env("TIERCAST_DATA_DIR")
        .default("./.tiercast"),
    )
    .option("--json", "print exactly one JSON document on stdout")
    .option("--at <iso>", "the embedded runtime's clock (default: now)")
    .option("--config <file>", "tier schemes and defaults (default: ./tiercast.config.json if present)")
    .version(VERSION, "-V, --version", "print the version")
    // Commander's own error print (message + whole usage) is replaced by main()'s one line with a hint.
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    .hook("preAction", async () => {
      await loadCommands();
    });

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command("import")
    .description("upsert customers from a .jsonl, .csv (UTF-8 or GBK) or .xlsx file")
    .argument("<file>")
    .option("--encoding <name>", "auto (UTF-8 or GBK/GB18030, detected), utf-8, gbk, gb18030…")
    .option("--sheet <name>", "the worksheet of an .xlsx (default: the first)")
    .action(async (file: string, o: SourceOptions, cmd: Command) => {
      const options = globals(cmd);
      const report = await withRuntime(options, (runtime, now) =>
        lib.importFile(runtime, file, now(), {
          showProgress: progressEnabled(options),
          ...sourceOptions(o, runtime.config),
        }),
      );
      const { seconds, ...out } = report;
      emit(options, out, () => {
        const lines = [
          `imported ${fmt(out.imported)} customers, rejected ${fmt(out.rejected.length)} lines${out.converted ? `; ${fmt(out.converted)} growth-campaign recipients converted` : ""}`,
        ];
        for (const r of out.rejected.slice(0, 20)) lines.push(`  line ${r.line}: ${r.error}`);
        if (out.rejected.length > 20)
          lines.push(`  … and ${out.rejected.length - 20} more (use --json for all)`);
        return lines.join("\n");
      });
    });

  program
    .command("tiers")
    .description("count customers per tier")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const counts = await withRuntime(options, (runtime) => lib.countTiers(runtime));
      emit(options, counts, () => lib.tiersTable(counts));
    });

  program
    .command("preview")
    .description("dry run: decide every recipient, send nothing")
    .argument("<campaign.json>")
    .action(async (file: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) => {
        const campaign = lib.readCampaignFile(file, runtime.config);
        return lib.runPreview(runtime, campaign, now());
      });
      emit(options, result, () => lib.previewText(result));
      if (result.problems.length > 0) {
        process.stderr.write(`tiercast: campaign refused: ${result.problems.join("; ")}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command("estimate")
    .description("sampled estimate: decide a bounded random sample, counts with 95% intervals, send nothing")
    .argument("<campaign.json>")
    .option("--sample-size <n>", "customers to sample (default 4000)", intArg("--sample-size", 1))
    .action(async (file: string, o: { sampleSize?: number }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) => {
        const campaign = lib.readCampaignFile(file, runtime.config);
        return lib.runEstimate(runtime, campaign, now(), o.sampleSize);
      });
      emit(options, result, () => lib.estimateText(result));
      if (result.problems.length > 0) {
        process.stderr.write(`tiercast: campaign refused: ${result.problems.join("; ")}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command("dry-run")
    .description(
      "the exact dry run as a stored job (what the approval page shows): a campaign file, --campaign ID, or --job ID to show one",
    )
    .argument("[campaign.json]")
    .option("--campaign <id>", "a saved campaign's current version")
    .option("--job <jobId>", "show a stored dry run instead of starting one")
    .action(async (file: string | undefined, o: { campaign?: string; job?: string }, cmd: Command) => {
      const options = globals(cmd);
      const given = [file, o.campaign, o.job].filter((x) => x !== undefined).length;
      if (given !== 1) throw new UsageError("dry-run takes one of: a campaign file, --campaign ID, --job ID");
      const view = await withRuntime(options, async (runtime, now) => {
        if (o.job) return lib.showDryRun(runtime, now, o.job);
        let state = "starting";
        const stop = ticker(progressEnabled(options), "dry-run", async () => state);
        try {
          return await lib.dryRunJob(
            runtime,
            now,
            file ? { campaign: lib.readCampaignFile(file, runtime.config) } : { campaignId: o.campaign! },
            (p) => {
              state = `${p.tasksDone}/${p.tasksTotal || "?"} tier shards · ${fmt(p.pagesDone)} pages · ${fmt(p.recipientsDecided)} decided`;
            },
          );
        } finally {
          await stop();
        }
      });
      emit(options, view, () => lib.dryRunText(view));
      if (view.status === "failed") {
        process.stderr.write(`tiercast: dry run failed: ${view.error ?? "see the job"}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command("launch")
    .description("run the launch workflow to completion on the embedded runtime")
    .argument("<campaign.json>")
    .action(async (file: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, async (runtime, now) => {
        const campaign = lib.readCampaignFile(file, runtime.config);
        const at = now();
        const stop = ticker(progressEnabled(options), "launch", () =>
          funnelStatus(runtime, campaign.campaignId),
        );
        try {
          return await lib.operatorLaunch(useCaseDeps(runtime, now), localOperator(), campaign, () =>
            lib.launchCampaign(runtime, campaign, at),
          );
        } finally {
          await stop();
        }
      });
      const { byTier, ...summary } = result;
      emit(options, { ...summary, byTier }, () => lib.launchText(result));
      if (result.status !== "SUCCEEDED") {
        process.stderr.write(`tiercast: launch failed: ${result.error ?? "see the campaign's status"}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command("tick")
    .description("process everything due at --at (schedules, then deferred sends)")
    .action(async (_o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, async (runtime) => {
        const stop = ticker(progressEnabled(options), "tick", async () => "releasing due sends");
        try {
          return await lib.tick(runtime);
        } finally {
          await stop();
        }
      });
      emit(
        options,
        result,
        () =>
          `released ${fmt(result.released)}: sent ${fmt(result.sent)}, deferred ${fmt(result.deferred)}, failed ${fmt(result.failed)}, unknown ${fmt(result.unknown)}, excluded ${fmt(result.excluded)}`,
      );
    });

  program
    .command("ledger")
    .description("one row per recipient decision")
    .argument("<campaignId>")
    .option("--customer <id>", "only this customer")
    .addOption(new Option("--format <format>", "output format").choices(["json", "csv"]))
    .action(async (campaignId: string, o: { customer?: string; format?: "json" | "csv" }, cmd: Command) => {
      const options = globals(cmd);
      await withRuntime(options, (runtime) =>
        lib.writeLedger(runtime, campaignId, {
          customer: o.customer,
          format: o.format ?? (options.json ? "json" : "csv"),
        }),
      );
    });

  const dlqCommand = program.command("dlq").description("dead-lettered sends");
  for (const action of ["list", "redrive"] as const) {
    dlqCommand
      .command(action)
      .description(
        action === "list"
          ? "what is in the dead-letter queues"
          : "move dead letters back to their queues and send them",
      )
      .action(async (_o, cmd: Command) => {
        const options = globals(cmd);
        const result = await withRuntime(options, (runtime) => lib.dlq(runtime, action));
        emit(options, { queues: result }, () =>
          table(
            ["queue", "messages", "recipients", ...(action === "redrive" ? ["redriven"] : [])],
            result.map((q) => [
              q.queue,
              q.messages,
              q.recipients,
              ...(action === "redrive" ? [q.redriven ?? 0] : []),
            ]),
          ),
        );
      });
  }

  const events = program.command("events").description("delivery, response and business events");
  events
    .command("ingest")
    .description("ingest events from a .jsonl, .csv or .xlsx file (idempotent by eventId)")
    .argument("<file>")
    .option("--encoding <name>", "auto (UTF-8 or GBK/GB18030, detected), utf-8, gbk, gb18030…")
    .option("--sheet <name>", "the worksheet of an .xlsx (default: the first)")
    .action(async (file: string, o: SourceOptions, cmd: Command) => {
      const options = globals(cmd);
      const report = await withRuntime(options, (runtime) =>
        lib.ingestFile(runtime, file, sourceOptions(o, runtime.config)),
      );
      emit(options, report, () => {
        const lines = [
          `accepted ${fmt(report.accepted)}, duplicates ${fmt(report.duplicates)}, rejected ${fmt(report.rejected.length)}`,
        ];
        for (const r of report.rejected.slice(0, 20)) lines.push(`  line ${r.line}: ${r.error}`);
        return lines.join("\n");
      });
    });

  program
    .command("funnel")
    .description("the funnel per tier, with uplift against the holdout")
    .argument("<campaignId>")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv"]))
    .action(async (campaignId: string, o: { format?: string }, cmd: Command) => {
      const options = globals(cmd);
      const funnel = await withRuntime(options, async (runtime) => {
        await lib.loadCampaign(runtime.repo, campaignId);
        return lib.readFunnel(runtime.repo, campaignId);
      });
      if (o.format === "csv") process.stdout.write(`${lib.funnelCsv(funnel)}\n`);
      else emit({ json: options.json || o.format === "json" }, funnel, () => lib.funnelText(funnel));
    });

  const targets = program
    .command("targets")
    .description("funnel targets per campaign and tier, by quarter, month or week, and progress against them")
    .argument("<campaignId>")
    .action(async (campaignId: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const rows = await withRuntime(options, async (runtime) => {
        await lib.loadCampaign(runtime.repo, campaignId);
        return lib.targetProgress(runtime.repo, campaignId);
      });
      emit(options, { campaignId, targets: rows }, () =>
        table(
          ["period", "tier", "stage", "target", "actual", "progress"],
          rows.map((r) => [r.period, r.tier, r.stage, fmt(r.value), fmt(r.actual), `${r.progress}%`]),
        ),
      );
    });
  targets
    .command("set")
    .description("set a target: --period 2027Q1|2027-03|2027-W09 --stage converted --value 100 [--tier key]")
    .argument("<campaignId>")
    .requiredOption("--period <period>", "a quarter, month or ISO week")
    .requiredOption("--stage <stage>", "a funnel stage")
    .requiredOption("--value <n>", "the count to reach (a positive integer)")
    .option("--tier <tier>", "a tier (default: all tiers)", "all")
    .action(
      async (
        campaignId: string,
        o: { period: string; stage: string; value: string; tier: string },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        const target = lib.validateTarget({
          campaignId,
          period: o.period,
          stage: o.stage as never,
          // Checked by validateTarget with the other fields, so every problem is reported at once.
          value: Number(o.value),
          tier: o.tier,
        });
        await withRuntime(options, (runtime, now) =>
          lib.setCampaignTarget(useCaseDeps(runtime, now), localOperator(), target),
        );
        emit(options, target, () => `target set: ${o.stage} ≥ ${o.value} for ${o.tier} in ${o.period}`);
      },
    );

  program
    .command("simulate")
    .description("simulate recipients' behaviour as events (deterministic by seed)")
    .argument("<campaignId>")
    .option("--seed <s>", "random seed", intArg("--seed", 0), 1)
    .action(async (campaignId: string, o: { seed: number }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, async (runtime) => {
        const stop = ticker(progressEnabled(options), "simulate", () => funnelStatus(runtime, campaignId));
        try {
          return await lib.simulate(runtime, campaignId, o.seed);
        } finally {
          await stop();
        }
      });
      emit(
        options,
        result,
        () =>
          `simulated ${Object.entries(result.events)
            .map(([k, v]) => `${fmt(v)} ${k}`)
            .join(", ")}`,
      );
    });

  program
    .command("rebuild")
    .description(
      "recompute the funnel and the branch/RM performance counters from the ledger and compare with the live ones",
    )
    .argument("<campaignId>")
    .option(
      "--repair",
      "add each difference to the live counters (the ledger is the truth), then compare again",
    )
    .action(async (campaignId: string, o: { repair?: boolean }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime) =>
        lib.rebuild(runtime, campaignId, { repair: o.repair }),
      );
      emit(options, result, () =>
        result.matches
          ? `${result.counters} counters recomputed from the ledger: all match the live counters${result.repaired ? ` (${result.repaired} repaired)` : ""}`
          : `MISMATCH in ${result.differences.length} counters:\n${result.differences.map((d) => `  ${d.counter}: live ${d.live}, ledger ${d.ledger}`).join("\n")}`,
      );
      if (!result.matches) process.exitCode = 1;
    });

  program
    .command("bench")
    .description("the benchmark: generate → import → preview → launch → dispatch → simulate → funnel")
    .option("--customers <n>", "size of the synthetic bank", intArg("--customers"), 100_000)
    .action(async (o: { customers: number }, cmd: Command) => {
      const options = globals(cmd);
      const result = await lib.runBench(o.customers, (name) => process.stderr.write(`bench: ${name}…\n`));
      emit(options, result, () => JSON.stringify(result, null, 2));
    });

  program
    .command("uncontactable")
    .description("customers who cannot be reached on a channel (information-governance list)")
    .option("--branch <id>", "only this branch")
    .option("--lost-only", "only customers with neither a valid phone nor a valid email")
    .addOption(new Option("--format <format>", "output format").choices(["csv", "json"]))
    .action(async (o: { branch?: string; lostOnly?: boolean; format?: string }, cmd: Command) => {
      const options = globals(cmd);
      const json = options.json || o.format === "json";
      await withRuntime(options, async (runtime) => {
        const rows = [];
        for await (const row of lib.uncontactable(runtime, o)) rows.push(row);
        if (json) process.stdout.write(`${JSON.stringify({ count: rows.length, customers: rows })}\n`);
        else {
          process.stdout.write(lib.csvRow(lib.UNCONTACTABLE_COLUMNS));
          for (const r of rows) process.stdout.write(lib.csvRow(lib.UNCONTACTABLE_COLUMNS.map((c) => r[c])));
        }
      });
    });

  program
    .command("key-report")
    .description("key customers not yet contacted by a maintenance campaign this month")
    .option("--month <yyyy-mm>", "the month (default: the month of --at)")
    .action(async (o: { month?: string }, cmd: Command) => {
      const options = globals(cmd);
      if (o.month && !/^\d{4}-(0[1-9]|1[0-2])$/.test(o.month))
        throw new UsageError(`--month must be YYYY-MM, got "${o.month}"`);
      const result = await withRuntime(options, (runtime, now) =>
        lib.keyNotContacted(runtime, o.month ?? now().toISOString().slice(0, 7)),
      );
      emit(options, result, () =>
        [
          `${result.month}: ${fmt(result.contacted)} of ${fmt(result.customers)} key customers contacted; ${fmt(result.notContacted)} not yet.`,
          table(
            ["RM", "not contacted"],
            Object.entries(result.byRm)
              .sort((a, b) => b[1] - a[1])
              .slice(0, 20),
          ),
        ].join("\n"),
      );
    });

  program
    .command("salon")
    .description("seats, RSVPs and waitlist of a salon event")
    .argument("<eventId>")
    .action(async (eventId: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime) => salonReport(runtime, eventId));
      emit(
        options,
        result,
        () =>
          `${eventId}: ${result.seatsTaken}/${result.capacity} seats taken, ${result.waitlisted} waitlisted, ${result.full} full, ${result.cancelled} cancelled` +
          (result.pending
            ? `, ${result.pending} pending (not completed yet: the reply's retry completes them)`
            : ""),
      );
    });

  const customers = program.command("customers").description("customer records");
  customers
    .command("show")
    .description("the stored customer record")
    .argument("<customerId>")
    .action(async (customerId: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const customer = await withRuntime(options, (runtime) => getCustomer(runtime.repo, customerId));
      if (!customer) throw new NotFoundError(`no customer "${customerId}"`);
      emit(options, customer, () =>
        table(
          ["field", "value"],
          Object.entries(customer).map(([k, v]) => [k, Array.isArray(v) ? v.join("|") : String(v)]),
        ),
      );
    });
  customers
    .command("forget")
    .description("erase a customer's personal data; decisions and aggregate counts stay")
    .argument("<customerId>")
    .action(async (customerId: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) =>
        lib.forget(useCaseDeps(runtime, now), localOperator(), customerId),
      );
      emit(
        options,
        result,
        () => `erased the personal data of ${customerId} (${result.ledgerRowsScrubbed} ledger rows scrubbed)`,
      );
    });

  program
    .command("sms")
    .description("AWS China SMS vendors")
    .command("receipt-urls")
    .description(
      "the callback URLs (with their token) to set in Alibaba Cloud's and Tencent Cloud's consoles for delivery receipts",
    )
    .requiredOption("--base <url>", "the public base URL of the deployment (publicBaseUrl)")
    .option(
      "--secret-arn <arn>",
      "the deployment's HMAC secret in Secrets Manager (default: this data dir's secret)",
    )
    .action(async (o: { base: string; secretArn?: string }, cmd: Command) => {
      const options = globals(cmd);
      let base: URL;
      try {
        base = new URL(o.base);
      } catch {
        throw new UsageError(`--base: not a URL: ${o.base} (e.g. https://go.bank.example)`);
      }
      if (base.protocol !== "https:" && base.protocol !== "http:")
        throw new UsageError(`--base: must be an https URL, not ${base.protocol}`);
      let secret: string;
      if (o.secretArn) {
        const source = lib.secretSource({ secretArn: o.secretArn });
        await source.load();
        secret = source.get();
      } else secret = await withRuntime(options, async (runtime) => runtime.secret);
      const root = base.href.replace(/\/$/, "");
      const urls = {
        aliyun: `${root}/hooks/sms/aliyun?token=${lib.receiptToken(secret, "aliyun")}`,
        tencent: `${root}/hooks/sms/tencent?token=${lib.receiptToken(secret, "tencent")}`,
      };
      emit(
        options,
        urls,
        () => `Alibaba Cloud (SmsReport):   ${urls.aliyun}\nTencent Cloud (状态回调):    ${urls.tencent}`,
      );
    });

  const audit = program.command("audit").description("the append-only, keyed audit log");
  audit
    .command("verify")
    .description("check every trail's keyed chain, head and anchor (exit 1 when anything is broken)")
    .option("--anchor <file>", "heads exported outside the table (default: <data-dir>/audit-anchor.jsonl)")
    .action(async (o: { anchor?: string }, cmd: Command) => {
      const options = globals(cmd);
      const result = await withRuntime(options, (runtime, now) => {
        const deps = useCaseDeps(runtime, now);
        return lib.verifyAudit({ ...deps, auditAnchor: o.anchor ? anchorFile(o.anchor) : deps.auditAnchor });
      });
      const { intact, entries, problems } = result;
      emit(options, { intact, entries, problems }, () =>
        intact
          ? `audit log intact: ${fmt(entries)} entries in ${fmt(result.trails)} trails`
          : [`AUDIT LOG BROKEN: ${problems.length} problems`, ...problems.map((p) => `  ${p}`)].join("\n"),
      );
      if (!intact) process.exitCode = 1;
    });
  audit
    .command("show")
    .description("one entity's trail, e.g. `audit show campaign dormant-2027q1`")
    .argument("<entity>", "campaign, schedule, user, import, target, customer or task")
    .argument("<id>")
    .action(async (entity: string, id: string, _o, cmd: Command) => {
      const options = globals(cmd);
      const trail = await withRuntime(options, (runtime, now) =>
        lib.readAudit(useCaseDeps(runtime, now), entity as never, id),
      );
      emit(options, trail, () =>
        [
          table(
            ["#", "at", "actor", "action"],
            trail.entries.map((e) => [e.seq, e.at, e.actor.userId, e.action]),
          ),
          trail.intact ? "intact" : `BROKEN:\n${trail.problems.map((p) => `  ${p}`).join("\n")}`,
        ].join("\n"),
      );
      if (!trail.intact) process.exitCode = 1;
    });

  program
    .command("generate")
    .description("write a deterministic synthetic bank as JSONL")
    .requiredOption("--customers <n>", "how many customers", intArg("--customers"))
    .option("--seed <s>", "random seed", intArg("--seed", 0), 1)
    .requiredOption("--out <file>", "output .jsonl file")
    .action(async (o: { customers: number; seed: number; out: string }, cmd: Command) => {
      const options = globals(cmd);
      const at = parseAt(options.at) ?? new Date();
      const n = await lib.writeSyntheticBank(o.out, { customers: o.customers, seed: o.seed, at });
      emit(
        options,
        { customers: n, file: resolve(o.out), seed: o.seed },
        () => `wrote ${fmt(n)} customers to ${o.out}`,
      );
    });

  program
    .command("demo")
    .description("the whole story on a fresh data dir, with a printed result")
    .option("--customers <n>", "size of the synthetic bank", intArg("--customers"), 100_000)
    .action(async (o: { customers: number }, cmd: Command) => {
      const options = globals(cmd);
      const dir = join(options.dataDir, "demo");
      rmSync(dir, { recursive: true, force: true });
      await lib.runDemo({ ...options, dataDir: dir }, o.customers);
    });

  program
    .command("doctor")
    .description("read-only checks of what a deploy and first launch need (exit 1 when one fails)")
    .option("--aws", "check the AWS account with your credentials and region")
    .option("--env <env>", "dev or prod", "prod")
    .option("--deployment <file>", "the deployment settings, as `cdk synth -c deployment=FILE` takes them")
    .option("--region <region>", "the target region (default: the AWS SDK's)")
    .option("--sms-secret <arn>", "AWS China: the SmsProviderCredentials secret to check")
    .option("--smtp-secret <arn>", "AWS China: the SmtpRelayCredentials secret to check")
    .action(
      async (
        o: {
          aws?: boolean;
          env: string;
          deployment?: string;
          region?: string;
          smsSecret?: string;
          smtpSecret?: string;
        },
        cmd: Command,
      ) => {
        const options = globals(cmd);
        if (!o.aws) throw new UsageError("doctor: only the AWS checks exist so far: `tiercast doctor --aws`");
        if (o.env !== "dev" && o.env !== "prod")
          throw new UsageError(`--env must be dev or prod, got "${o.env}"`);
        const checks = await lib.doctorAws(o);
        const ok = !checks.some((c) => c.status === "fail");
        emit(options, { ok, checks }, () => lib.doctorTable(checks));
        if (!ok) process.exitCode = 1;
      },
    );

  addSurfaceCommands(program, globals);
  addPerformanceCommands(program, globals);
  return program;
}

/** An exported anchor (JSONL of heads, or of log records with `auditHead`), read-only. */
function anchorFile(path: string): AuditAnchor {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new InputError(`cannot read ${path}: no such file`);
  }
  return {
    async record() {},
    read: async () => lib.latestHeads(text.split("\n")),
  };
}

/** The deepest command named in argv, for the hint of a usage error ("tiercast targets set --help"). */
function commandPath(program: Command, args: string[]): string {
  const names = [program.name()];
  let cmd = program;
  for (const arg of args) {
    if (cmd.commands.length === 0) break;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub) {
      names.push(sub.name());
      cmd = sub;
    }
  }
  return names.join(" ");
}

function usageFailure(argv: string[], program: Command, message: string) {
  const text = message
    .replace(/^error: /, "")
    .replaceAll("\n", " ")
    .trim();
  process.stderr.write(`tiercast: ${text} (see \`${commandPath(program, argv.slice(2))} --help\`)\n`);
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify({ error: "usage", message: text })}\n`);
  process.exitCode = 2;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander raises is bad usage.
      if (err.exitCode === 0 || err.code === "commander.help") process.exitCode = err.exitCode === 0 ? 0 : 2;
      else usageFailure(argv, program, err.message);
      return;
    }
    if (err instanceof UsageError) {
      usageFailure(argv, program, err.message);
      return;
    }
    const { message, exitCode, code, problems } = failureMessage(err);
    process.stderr.write(`tiercast: ${message.replaceAll("\n", " ")}\n`);
    if (argv.includes("--json"))
      process.stdout.write(
        `${JSON.stringify({ error: code, message, ...(problems ? { problems } : {}) })}\n`,
      );
    if (process.env.TIERCAST_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = exitCode;
  }
}
