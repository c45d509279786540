import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { recordLaunchOutcome } from "#functions/usecases/campaigns.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { awaitDispatch, decidePage, finalizeLaunch, validateLaunch } from "./core.ts";

// Thin handlers: parse nothing the workflow did not produce, call the core, log counts (never recipients).
export function launchHandlers(app: () => App) {
  const wrap = <E, R>(fn: (event: E, context: Context) => Promise<R>) =>
    middy(fn)
      .use(injectLambdaContext(logger))
      .use(loadSecret(() => app().secret));
  return {
    validate: wrap(async (event: Parameters<typeof validateLaunch>[0]) => {
      const out = await validateLaunch(event, app().launchDeps());
      logger.info("launch validated", { campaignId: out.campaignId, tasks: out.tasks.length });
      return out;
    }),
    decide: wrap(async (event: Parameters<typeof decidePage>[0]) => {
      const out = await decidePage(event, app().launchDeps());
      logger.debug("page decided", {
        campaignId: out.campaignId,
        task: out.task,
        pages: out.pages,
        done: out.done,
      });
      return out;
    }),
    awaitWorkers: wrap(async (event: Parameters<typeof awaitDispatch>[0], context: Context) =>
      awaitDispatch(event, { ...app().launchDeps(), remainingMs: () => context.getRemainingTimeInMillis() }),
    ),
    finalize: wrap(async (event: Parameters<typeof finalizeLaunch>[0]) => {
      const out = await finalizeLaunch(event, app().launchDeps());
      // The outcome in the audit trail (`launching → launched` or `failed`), once per launch.
      await recordLaunchOutcome(app().auditDeps(), out.campaignId);
      logger.info("launch finalized", {
        campaignId: out.campaignId,
        status: out.status,
        sent: out.sent,
        failed: out.failed,
      });
      return out;
    }),
  };
}

const launch = launchHandlers(lambdaApp);
export const validate = onAws(launch.validate);
export const decide = onAws(launch.decide);
export const awaitWorkers = onAws(launch.awaitWorkers);
export const finalize = onAws(launch.finalize);
