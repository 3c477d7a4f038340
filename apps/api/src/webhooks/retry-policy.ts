/** One failed attempt's delay is at most this long, however many came before. */
export const MAX_BACKOFF_MS = 3_600_000;

/**
 * Exponential backoff with full jitter: after the n-th failed attempt, wait a uniformly random
 * time in [0, min(cap, base * 2^(n-1))]. Jitter spreads the retries of many deliveries that
 * failed together (a receiver down for a minute) instead of hammering it in lockstep.
 */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.floor(random() * ceiling);
}
