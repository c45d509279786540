import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { releaseDue } from "./core.ts";

/** Scheduled every few minutes on AWS (EventBridge Scheduler); `tiercast tick` locally. */
export function releaseHandler(app: () => App) {
  return middy(async (_event: unknown, context: Context) => {
    const deps = app().base();
    const out = await releaseDue({
      repo: deps.repo,
      shards: deps.config.shards,
      now: deps.now,
      enqueue: deps.enqueue,
      // Pages stop before the function's timeout; the next scheduled run continues where this one stopped.
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    logger.info("released due sends", {
      released: out.released,
      recovered: out.recovered,
      more: out.more,
      campaigns: Object.keys(out.campaigns).length,
    });
    return { released: out.released, recovered: out.recovered, more: out.more };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(releaseHandler(lambdaApp));
