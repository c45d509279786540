import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { runDueSchedules } from "./core.ts";

/**
 * Invoked by EventBridge Scheduler: at each schedule's own cron (one EventBridge schedule per Tiercast
 * schedule) and every few minutes as a safety net. Either way it runs whatever is due; firings are
 * claimed with a conditional write, so overlapping invocations start each run once.
 */
export function schedulesHandler(app: () => App) {
  return middy(async () => {
    const runs = await runDueSchedules({
      ...app().auditDeps(),
      startLaunch: app().startLaunch,
    });
    logger.info("schedules run", { runs: runs.length, started: runs.filter((r) => r.campaignId).length });
    return { runs };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(schedulesHandler(lambdaApp));
