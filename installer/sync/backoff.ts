/**
 * Capped exponential backoff with jitter (each delay drawn from the upper half of the current
 * step), so that a fleet of nodes whose watches broke at the same moment does not come back in
 * lockstep.
 */
export interface Backoff {
  /** The delay before the next attempt; each call doubles the step up to the cap. */
  next(): number;
  reset(): void;
}

export function jitteredBackoff(
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): Backoff {
  let step = initialMs;
  return {
    next(): number {
      const delay = step / 2 + random() * (step / 2);
      step = Math.min(step * 2, maxMs);
      return Math.round(delay);
    },
    reset(): void {
      step = initialMs;
    },
  };
}
