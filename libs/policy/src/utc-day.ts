/**
 * Daily caps run per UTC day: spend is booked on the day a call was reserved, and a key over
 * its cap may try again at the next UTC midnight.
 */
export const DAY_MS = 86_400_000;

/** The UTC midnight (ms) that starts the day `nowMs` falls in. */
export function utcMidnight(nowMs: number): number {
  return Math.floor(nowMs / DAY_MS) * DAY_MS;
}

/** The UTC midnight (ms) that ends the day `nowMs` falls in. */
export function nextUtcMidnight(nowMs: number): number {
  return utcMidnight(nowMs) + DAY_MS;
}

/** `YYYY-MM-DD` of the UTC day of `nowMs`. */
export function utcDay(nowMs = Date.now()): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** Whole seconds until the next UTC midnight (at least 1), for Retry-After. */
export function secondsUntilUtcMidnight(nowMs = Date.now()): number {
  return Math.max(1, Math.ceil((nextUtcMidnight(nowMs) - nowMs) / 1000));
}
