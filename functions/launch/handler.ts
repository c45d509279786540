import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { httpSmsLookup } from "#functions/dispatch/providers.ts";
import { baseDeps } from "#platform/deps.ts";
import { env } from "#platform/env.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { awaitDispatch, decidePage, finalizeLaunch, type LaunchDeps, validateLaunch } from "./core.ts";

const deps = (): LaunchDeps => {
  const smsLookup = env().SMS_ENDPOINT ? httpSmsLookup(env().SMS_ENDPOINT!) : undefined;
  return {
    ...baseDeps(),
    sweepAfterMs: Number(process.env.SWEEP_AFTER_MS ?? 60_000),
    // RM tasks are written idempotently, so one whose outcome is unknown is simply written again.
    // On AWS, SMS and email unknowns are reconciled by their delivery receipts instead.
    lookup: async (channel, sendKey) =>
      channel === "rm-task" ? { received: false } : channel === "sms" ? smsLookup?.(sendKey) : undefined,
  };
};

// Thin handlers: parse nothing the workflow did not produce, call the core, log counts (never recipients).
export const validate = middy(async (event: Parameters<typeof validateLaunch>[0]) => {
  const out = await validateLaunch(event, deps());
  logger.info("launch validated", { campaignId: out.campaignId, tasks: out.tasks.length });
  return out;
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());

export const decide = middy(async (event: Parameters<typeof decidePage>[0]) => {
  const out = await decidePage(event, deps());
  logger.debug("page decided", {
    campaignId: out.campaignId,
    task: out.task,
    pages: out.pages,
    done: out.done,
  });
  return out;
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());

export const awaitWorkers = middy(async (event: Parameters<typeof awaitDispatch>[0]) =>
  awaitDispatch(event, deps()),
)
  .use(injectLambdaContext(logger))
  .use(loadSecret());

export const finalize = middy(async (event: Parameters<typeof finalizeLaunch>[0]) => {
  const out = await finalizeLaunch(event, deps());
  logger.info("launch finalized", {
    campaignId: out.campaignId,
    status: out.status,
    sent: out.sent,
    failed: out.failed,
  });
  return out;
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());
