export type Clock = () => Date;

/** A clock that can be moved: the embedded runtime's `--at`, and tests stepping through a day. */
export interface SettableClock {
  now: Clock;
  /** Moves the clock to `at`; time then runs on from there. */
  set(at: Date | string): void;
}

/**
 * The system clock, or, given an instant, one that starts there and runs on in real time. One per
 * runtime: every handler built on it agrees on how much time has passed.
 */
export function settableClock(at?: Date | string): SettableClock {
  let origin: number | undefined;
  let startedAt = 0;
  const set = (to: Date | string) => {
    origin = typeof to === "string" ? Date.parse(to) : to.getTime();
    if (Number.isNaN(origin)) throw new Error(`not an instant: ${String(to)}`);
    startedAt = performance.now();
  };
  if (at !== undefined) set(at);
  return {
    now: () =>
      origin === undefined ? new Date() : new Date(origin + Math.floor(performance.now() - startedAt)),
    set,
  };
}
