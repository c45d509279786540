export type Clock = () => Date;

/**
 * The one clock of handlers. On AWS it is the system clock. The embedded runtime sets
 * TIERCAST_CLOCK_AT (from `--at`), and time then runs on from that instant.
 */
export function runtimeClock(): Clock {
  const at = process.env.TIERCAST_CLOCK_AT;
  if (!at) return () => new Date();
  return offsetClock(new Date(at));
}

export function offsetClock(at: Date): Clock {
  const startedAt = performance.now();
  const base = at.getTime();
  return () => new Date(base + Math.floor(performance.now() - startedAt));
}

export function fixedClock(at: Date | string): Clock {
  const t = new Date(at).getTime();
  return () => new Date(t);
}
