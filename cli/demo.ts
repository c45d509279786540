import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCampaign, type ResolvedCampaign } from "#functions/campaign/schema.ts";
import { keyNotContacted } from "#functions/customers/reports.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import type { TaskOutcome } from "#functions/tasks/store.ts";
import { operatorLaunch } from "#functions/usecases/campaigns.ts";
import { completeTaskAs, listTasksAs } from "#functions/usecases/tasks.ts";
import { writeSyntheticBank, writeSyntheticDelta } from "#local/synthetic.ts";
import { unitDraw } from "#platform/hash.ts";
import { readCampaignFile } from "./campaign-file.ts";
import { localOperator, parseAt, useCaseDeps, withRuntime } from "./context.ts";
import { funnelText, ledgerRowsOf, simulate } from "./funnel.ts";
import { importFile } from "./import.ts";
import { launchCampaign, tick } from "./launch.ts";
import { fmt, type GlobalOptions, table } from "./output.ts";
import { previewText, runPreview } from "./preview.ts";
import { countTiers, tiersTable } from "./tiers.ts";

const say = (text = "") => process.stdout.write(`${text}\n`);
const section = (title: string) => say(`\n━━ ${title} ${"━".repeat(Math.max(0, 70 - title.length))}\n`);

/** The demo's calendar (Asia/Shanghai office hours), fixed so every run tells the same story. */
const DAY1 = "2027-02-26T02:00:00.000Z"; // Fri 10:00
const DAY1_LATE = "2027-02-26T15:30:00.000Z"; // Fri 23:30
const DAY2 = "2027-02-27T02:00:00.000Z"; // Sat 10:00
const WAVE1 = "2027-03-01T02:00:00.000Z"; // salon wave 1 (key)
const WAVE2 = "2027-03-04T02:00:00.000Z"; // salon wave 2 (quality)
const MONTH_LATER = "2027-03-25T02:00:00.000Z"; // Thu 10:00: the March export, 27 days after the upgrade SMS
/** Simulated: who reaches the next tier by the March export, with the SMS and without (a true effect of +10 pp). */
const UPGRADE_RATE = { sent: 0.3, holdout: 0.2 };
const PILOT_BRANCHES = ["BR001", "BR002", "BR003", "BR004"];
/** A pilot holds out more than the 5% default, so its uplift is measurable at pilot size. */
const PILOT_HOLDOUT = 20;

export async function runDemo(options: GlobalOptions, customers: number): Promise<void> {
  const start = parseAt(options.at) ?? new Date(DAY1);
  const began = performance.now();
  await withRuntime({ ...options, at: start.toISOString() }, async (runtime, now) => {
    const dispatchCount = (what: "sms" | "email") => {
      const path = what === "sms" ? join(runtime.dataDir!, "sms-sink.jsonl") : join(runtime.dataDir!, "mail");
      if (!existsSync(path)) return 0;
      return what === "sms"
        ? readFileSync(path, "utf8").split("\n").filter(Boolean).length
        : readdirSync(path).length;
    };
    const setClock = (at: string) => runtime.clock.set(at);
    const file = join(runtime.dataDir!, "bank.jsonl");
    say(
      `Tiercast demo: a synthetic bank of ${fmt(customers)} customers, on the embedded runtime (data in ${runtime.dataDir}).`,
    );

    section("1. Import the bank's export and tier it");
    await writeSyntheticBank(file, { customers, seed: 42, at: start });
    const report = await importFile(runtime, file, now(), { showProgress: true, expected: customers });
    say(
      `Imported ${fmt(report.imported)} customers in ${report.seconds.toFixed(1)} s (${fmt(Math.round(report.imported / report.seconds))}/s), ${report.rejected.length} rejected.\n`,
    );
    say(tiersTable(await countTiers(runtime)));

    // Through a domestic vendor (SMS_PROVIDER=aliyun|tencent) SMS goes out as registered templates: the
    // demo gives each variant a code, which the local vendor gateway approves.
    const registered = (c: ResolvedCampaign): ResolvedCampaign =>
      runtime.config.sms.vendor
        ? {
            ...c,
            variants: c.variants.map((v, i) => ({ smsTemplateCode: `SMS_DEMO_${i + 1}`, ...v })),
            ...(c.event ? { event: { reminderSmsTemplateCode: "SMS_DEMO_REMINDER", ...c.event } } : {}),
          }
        : c;
    const { vendor: _vendor, ...sms } = runtime.config.sms;
    const unregistered = { ...runtime.config, sms };
    const pilot = (path: string): ResolvedCampaign => {
      const c = registered(readCampaignFile(path, unregistered));
      return parseCampaign({ ...c, segment: { ...c.segment, branches: PILOT_BRANCHES } }, runtime.config);
    };
    const dormant = parseCampaign(
      { ...pilot("examples/dormant-reactivation.json"), holdoutPercent: PILOT_HOLDOUT },
      runtime.config,
    );
    const maintenance = pilot("examples/key-maintenance.json");
    const salon = pilot("examples/salon-invite.json");
    const referral = pilot("examples/referral-drive.json");
    const upgrade = parseCampaign(
      { ...pilot("examples/tier-upgrade.json"), holdoutPercent: PILOT_HOLDOUT },
      runtime.config,
    );

    section(
      `2. Preview the dormant reactivation (pilot branches ${PILOT_BRANCHES.join(", ")}): who gets what, and why`,
    );
    say(
      previewText(await runPreview(runtime, dormant, now()))
        .split("\n")
        .slice(0, 12)
        .join("\n"),
    );

    section("3. Launch the tier campaigns (Step Functions ASL → SQS → channel workers)");
    const results = [];
    // As `tiercast launch` does: the operator's launch, with its entries in the campaign's audit trail.
    const launch = (campaign: ResolvedCampaign, at: string) =>
      operatorLaunch(
        useCaseDeps(runtime, () => new Date(at)),
        localOperator(),
        campaign,
        () => launchCampaign(runtime, campaign, new Date(at)),
      );
    setClock(DAY1);
    results.push(await launch(dormant, DAY1));
    results.push(await launch(maintenance, DAY1));
    results.push(await launch(salon, DAY1));
    results.push(await launch(upgrade, DAY1));
    setClock(DAY1_LATE);
    const late = parseCampaign({ ...referral, campaignId: "referral-2027-spring" }, runtime.config);
    results.push(await launch(late, DAY1_LATE));
    say(
      table(
        ["campaign", "launched (Shanghai)", "sent", "deferred", "excluded", "holdout", "failed"],
        results.map((r, i) => [
          r.campaignId,
          ["Fri 10:00", "Fri 10:00", "Fri 10:00", "Fri 10:00", "Fri 23:30"][i]!,
          fmt(r.sent),
          fmt(r.deferred),
          fmt(r.excluded),
          fmt(r.holdout),
          fmt(r.failed),
        ]),
      ),
    );
    say(
      "\nQuiet hours: the 23:30 referral drive was deferred, not dropped; salon invitations wait for their waves.",
    );

    section("4. Time passes: tick releases what is due");
    for (const [label, at] of [
      ["Sat 10:00 (after quiet hours)", DAY2],
      ["Mon 10:00 (salon wave 1: key)", WAVE1],
      ["Thu 10:00 (salon wave 2: quality)", WAVE2],
    ] as const) {
      setClock(at);
      const t = await tick(runtime);
      say(
        `${label.padEnd(36)} released ${fmt(t.released)}: sent ${fmt(t.sent)}, capped/excluded ${fmt(t.excluded)}, deferred ${fmt(t.deferred)}`,
      );
    }

    section("What went out, per tier and channel");
    const sentBy = new Map<string, Map<string, number>>();
    const channels = ["sms", "email", "rm-task"];
    for (const c of [dormant, maintenance, salon, upgrade, late])
      for await (const row of ledgerRowsOf(runtime, c.campaignId)) {
        if (row.decision !== "sent" || !row.channel) continue;
        const t = sentBy.get(row.tier) ?? new Map<string, number>();
        t.set(row.channel, (t.get(row.channel) ?? 0) + 1);
        sentBy.set(row.tier, t);
      }
    say(
      table(
        ["tier", ...channels],
        [...sentBy].map(([tier, m]) => [tier, ...channels.map((ch) => fmt(m.get(ch) ?? 0))]),
      ),
    );
    say(
      `\nThe SMS gateway sink holds ${fmt(dispatchCount("sms"))} messages and the SMTP server ${fmt(dispatchCount("email"))} emails.`,
    );

    section("RMs work their call tasks (tiercast tasks list / tasks complete)");
    const month = now().toISOString().slice(0, 7);
    const keyBefore = await keyNotContacted(runtime, month);
    const deps = useCaseDeps(runtime, now);
    const open = await listTasksAs(deps, localOperator(), { status: "open" });
    const pattern: TaskOutcome[] = [
      "reached",
      "appointment",
      "no_answer",
      "declined",
      "interested",
      "wrong_number",
    ];
    const worked = open.slice(0, 30);
    const outcomes = new Map<string, number>();
    for (const [i, task] of worked.entries()) {
      const outcome = pattern[i % pattern.length]!;
      await completeTaskAs(deps, localOperator(), task.taskId, { outcome });
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const keyAfter = await keyNotContacted(runtime, month);
    say(
      `${fmt(open.length)} open tasks; RMs called ${fmt(worked.length)}: ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(", ")}.`,
    );
    say(
      `Key report ${month}: contacted ${fmt(keyBefore.contacted)} → ${fmt(keyAfter.contacted)} of ${fmt(keyAfter.customers)} (a created task is not a contact; a no-answer or wrong number is not either).`,
    );

    section("5. Customers respond (simulated, with a true effect of +3 pp), and the funnel");
    for (const c of [dormant, maintenance, salon, late]) await simulate(runtime, c.campaignId, 7);
    const funnel = await readFunnel(runtime.repo, dormant.campaignId);
    say(funnelText(funnel));
    say("");
    const others = [];
    for (const c of [maintenance, salon, late]) {
      const f = await readFunnel(runtime.repo, c.campaignId);
      others.push([
        c.campaignId,
        fmt(f.total.eligible),
        fmt(f.total.sent),
        fmt(f.total.delivered),
        fmt(f.total.responded),
        fmt(f.total.converted),
      ]);
    }
    say(table(["campaign", "eligible", "sent", "delivered", "responded", "converted"], others));

    section("6. A month passes: the March export moves some customers up a tier");
    setClock(MONTH_LATER);
    // Simulated customers: a share of the near-threshold recipients reach the next tier, more of those
    // who got the SMS than of the holdout. The bank's export then carries their new AUM.
    const retail = runtime.config.tierSchemes.retail!.tiers;
    const moves = new Map<string, number>();
    for await (const row of ledgerRowsOf(runtime, upgrade.campaignId)) {
      if (row.decision !== "sent" && !row.holdout) continue;
      const rate = row.holdout ? UPGRADE_RATE.holdout : UPGRADE_RATE.sent;
      if (unitDraw(upgrade.campaignId, row.customerId, "demo-upgrade") >= rate) continue;
      const next = retail[retail.findIndex((t) => t.name === row.tier) + 1];
      if (next) moves.set(row.customerId, Math.round(next.min * 1.02));
    }
    const march = join(runtime.dataDir!, "bank-2027-03.jsonl");
    await writeSyntheticDelta(march, { customers, seed: 42, at: start }, moves);
    const second = await importFile(runtime, march, now());
    say(
      `Imported the March export (${fmt(second.imported)} customers whose assets moved): ${fmt(second.converted ?? 0)} recipients of ${upgrade.campaignId} now a tier up converted (SMS and holdout alike).\n`,
    );
    say(funnelText(await readFunnel(runtime.repo, upgrade.campaignId)));

    section("Where to look");
    say(`SMS the gateway accepted:   ${join(runtime.dataDir!, "sms-sink.jsonl")}`);
    say(`Emails the SMTP server got: ${join(runtime.dataDir!, "mail")}/*.eml`);
    say(
      `Per-recipient decisions:    npx tiercast --data-dir ${runtime.dataDir} ledger ${dormant.campaignId} --format csv`,
    );
    say(
      `The funnel again:           npx tiercast --data-dir ${runtime.dataDir} funnel ${dormant.campaignId}`,
    );
    say(
      `The console and the API:    npx tiercast --data-dir ${runtime.dataDir} users add you --role admin   (prints a token), then`,
    );
    say(
      `                            npx tiercast --data-dir ${runtime.dataDir} serve   → http://127.0.0.1:8787`,
    );
    say(`\nDemo finished in ${((performance.now() - began) / 1000).toFixed(0)} s.`);
  });
}
