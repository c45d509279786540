// What the commands run, loaded when a command is about to run (the preAction hook, see
// loadCommands in context.ts): the help, the version and usage errors never load it.

export { listUsers, NewUser } from "#functions/access/users.ts";
export { latestHeads } from "#functions/audit/anchor.ts";
export { readAudit, verifyAudit } from "#functions/audit/store.ts";
export { findCampaign, listCampaigns, loadCampaign } from "#functions/campaign/record.ts";
export { localTime } from "#functions/campaign/time.ts";
export {
  booksReport,
  keyNotContacted,
  UNCONTACTABLE_COLUMNS,
  uncontactable,
} from "#functions/customers/reports.ts";
export { salonStatus } from "#functions/events/salon.ts";
export { readFunnel } from "#functions/funnel/core.ts";
export { performanceCsv } from "#functions/funnel/performance.ts";
export { targetProgress, validateTarget } from "#functions/funnel/targets.ts";
export { receiptToken } from "#functions/receipts/vendor.ts";
export { REWARD_COLUMNS } from "#functions/referrals/rewards.ts";
export { listSchedules, validateSchedule } from "#functions/schedules/core.ts";
export { dueByOf } from "#functions/tasks/provider.ts";
export { assignBooksAs } from "#functions/usecases/books.ts";
export { operatorLaunch } from "#functions/usecases/campaigns.ts";
export { forget } from "#functions/usecases/customers.ts";
export {
  indicatorAs,
  performanceAs,
  setIndicatorAs,
  splitBranchIndicatorAs,
} from "#functions/usecases/performance.ts";
export { importStaffAs, planReportAs, runPlanAs } from "#functions/usecases/plans.ts";
export { listRewardsAs, payRewardAs } from "#functions/usecases/rewards.ts";
export { deleteSchedule, setSchedule } from "#functions/usecases/schedules.ts";
export { setCampaignTarget } from "#functions/usecases/targets.ts";
export { completeTaskAs, handoverAs, listTasksAs, taskPageAs, taskView } from "#functions/usecases/tasks.ts";
export { addUserAs } from "#functions/usecases/users.ts";
export { localAuditAnchor } from "#local/audit-anchor.ts";
export { startRuntime } from "#local/runtime.ts";
export { startServe } from "#local/serve.ts";
export { writeSyntheticBank } from "#local/synthetic.ts";
export { loadConfig } from "#platform/config.ts";
export { csvRow } from "#platform/csv.ts";
export { parseInstant } from "#platform/dates.ts";
export { secretSource } from "#platform/secret.ts";
export { runBench } from "./bench.ts";
export { readCampaignFile } from "./campaign-file.ts";
export { runDemo } from "./demo.ts";
export { doctorAws, doctorTable } from "./doctor.ts";
export { dryRunJob, dryRunText, estimateText, runEstimate, showDryRun } from "./dryrun.ts";
export { funnelCsv, funnelText, ingestFile, rebuild, simulate } from "./funnel.ts";
export { importFile, openSource } from "./import.ts";
export { dlq, launchCampaign, launchText, tick } from "./launch.ts";
export { writeLedger } from "./ledger.ts";
export { previewText, runPreview } from "./preview.ts";
export { countTiers, tiersTable } from "./tiers.ts";
