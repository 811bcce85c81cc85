/** Exponential backoff with jitter for relay reconnects (pure: the random source is injectable). */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** each delay is randomised by ± this fraction (0..1) */
  jitter: number;
}

/** Delay before retry number `attempt` (0 = the first retry): initial·2^attempt, capped, then jittered. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const spread = base * o.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

/** A connection that stayed up this long resets the backoff (a flapping peer does not get fast retries). */
export const STABLE_CONNECTION_MS = 10_000;
