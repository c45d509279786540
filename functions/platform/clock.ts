export type Clock = () => Date;

// One clock per process: handlers built at different times must agree on how much time has passed.
let seenAt: string | undefined;
let startedAt = 0;

/**
 * The one clock of handlers. On AWS it is the system clock. The embedded runtime sets
 * TIERCAST_CLOCK_AT (from `--at`), and time then runs on from that instant; setting a new
 * value moves the clock there (tests step through a day this way).
 */
export function runtimeClock(): Clock {
  return () => {
    const at = process.env.TIERCAST_CLOCK_AT;
    if (!at) return new Date();
    if (at !== seenAt) {
      seenAt = at;
      startedAt = performance.now();
    }
    return new Date(Date.parse(at) + Math.floor(performance.now() - startedAt));
  };
}
