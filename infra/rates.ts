/**
 * What each env's provider accounts accept, and the Lambda concurrency that follows from it: shared by
 * the stacks (infra/settings.ts, the workers' event sources) and `tiercast doctor --aws`'s quota checks,
 * which must not load aws-cdk-lib.
 */
export const PROVIDER_RATES = {
  dev: { sms: 20, email: 14 },
  prod: { sms: 500, email: 100 },
} as const;

/** RM tasks are table writes, not a provider's: a fixed pace. */
export const RM_TASK_RATE = 50;

/** A channel worker's maximum concurrency for a rate: ~10 recipients/message × 10 messages per batch. */
export const workerConcurrency = (ratePerSecond: number) =>
  Math.max(2, Math.min(1000, Math.ceil(ratePerSecond / 50)));

/** Peak concurrency of everything but the channel workers: receipts (10), the launch's steps, API, release, scheduler, imports. */
export const OTHER_CONCURRENCY = 50;

/** The unreserved Lambda concurrency a launch at full rate needs in the account and region. */
export const launchConcurrency = (env: keyof typeof PROVIDER_RATES) =>
  workerConcurrency(PROVIDER_RATES[env].sms) +
  workerConcurrency(PROVIDER_RATES[env].email) +
  workerConcurrency(RM_TASK_RATE) +
  OTHER_CONCURRENCY;
