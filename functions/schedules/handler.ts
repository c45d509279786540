import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { logAnchor } from "#functions/audit/anchor.ts";
import { startExecution } from "#platform/aws-launch.ts";
import { baseDeps } from "#platform/deps.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { runDueSchedules } from "./core.ts";

/**
 * Invoked by EventBridge Scheduler: at each schedule's own cron (one EventBridge schedule per Tiercast
 * schedule) and every few minutes as a safety net. Either way it runs whatever is due; firings are
 * claimed with a conditional write, so overlapping invocations start each run once.
 */
export const handler = middy(async () => {
  const base = baseDeps();
  const runs = await runDueSchedules({ ...base, startLaunch: startExecution, auditAnchor: logAnchor });
  logger.info("schedules run", { runs: runs.length, started: runs.filter((r) => r.campaignId).length });
  return { runs };
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());
