import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { baseDeps } from "#platform/deps.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { releaseDue } from "./core.ts";

/** Scheduled every few minutes on AWS (EventBridge Scheduler); `tiercast tick` locally. */
export const handler = middy(async () => {
  const deps = baseDeps();
  const out = await releaseDue({
    repo: deps.repo,
    shards: deps.config.shards,
    now: deps.now,
    enqueue: deps.enqueue,
  });
  logger.info("released due sends", { released: out.released, campaigns: Object.keys(out.campaigns).length });
  return { released: out.released };
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());
