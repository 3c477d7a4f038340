import type { CredentialStrategy } from '@keyvault/db';

/** Backoff for a key that was refused without a Retry-After: 1 s, 2 s, 4 s ... up to 5 minutes. */
const FIRST_COOLDOWN_MS = 1_000;
const MAX_COOLDOWN_MS = 300_000;

/**
 * Provider keys the upstream refused (rate limited, out of quota, revoked) rest for a while;
 * calls go to the other keys meanwhile. Kept apart from the loaded profiles, so a reload after
 * a notice does not forget which keys are resting.
 */
export class KeyCooldowns {
  private readonly resting = new Map<string, { until: number; failures: number }>();

  refused(keyId: string, retryAfterSeconds: number | null, now = Date.now()): void {
    const failures = (this.resting.get(keyId)?.failures ?? 0) + 1;
    const ms =
      retryAfterSeconds !== null
        ? Math.min(retryAfterSeconds * 1000, MAX_COOLDOWN_MS)
        : Math.min(FIRST_COOLDOWN_MS * 2 ** (failures - 1), MAX_COOLDOWN_MS);
    this.resting.set(keyId, { until: now + ms, failures });
  }

  served(keyId: string): void {
    if (this.resting.size > 0) this.resting.delete(keyId);
  }

  /** 0 when the key may be used now, else when it may be used again (ms since epoch). */
  restingUntil(keyId: string, now = Date.now()): number {
    const r = this.resting.get(keyId);
    return r && r.until > now ? r.until : 0;
  }

  get empty(): boolean {
    return this.resting.size === 0;
  }
}

/**
 * The order in which one call tries a profile's keys (sorted by position): `failover` always
 * starts at the lowest position, `round_robin` starts one further on each call. Resting keys
 * go last, soonest-rested first, so a call still goes out when every key is resting.
 */
export function attemptOrder<K extends { id: string }>(
  keys: readonly K[],
  strategy: CredentialStrategy,
  cursor: number,
  cooldowns: KeyCooldowns,
  now = Date.now(),
): K[] {
  const n = keys.length;
  if (n === 0) return [];
  const start = strategy === 'round_robin' ? cursor % n : 0;
  const rotated = start === 0 ? [...keys] : [...keys.slice(start), ...keys.slice(0, start)];
  if (cooldowns.empty) return rotated;
  const ready = rotated.filter((k) => cooldowns.restingUntil(k.id, now) === 0);
  const resting = rotated
    .filter((k) => cooldowns.restingUntil(k.id, now) !== 0)
    .sort((a, b) => cooldowns.restingUntil(a.id, now) - cooldowns.restingUntil(b.id, now));
  return [...ready, ...resting];
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterSeconds(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Which of a profile's keys a vault key's calls may use: one group's (null: the shared keys, those without a group). */
export interface KeyPool {
  group: string | null;
  /** with a group: the shared keys too, once the group's keys are all resting */
  fallbackToShared: boolean;
}

/**
 * The attempt order within a pool: the pool's keys as `attemptOrder` ranks them (its own
 * cursor each, so round robin spreads over the group's keys alone). With `fallbackToShared`
 * the shared keys come right after the group's ready keys: a call goes to a shared key only
 * when every key of the group is resting or has just refused it.
 */
export function poolOrder<K extends { id: string; group: string | null }>(
  keys: readonly K[],
  pool: KeyPool,
  strategy: CredentialStrategy,
  cursors: { group: number; shared: number },
  cooldowns: KeyCooldowns,
  now = Date.now(),
): K[] {
  const shared = keys.filter((k) => k.group === null);
  if (pool.group === null) return attemptOrder(shared, strategy, cursors.shared, cooldowns, now);
  const own = attemptOrder(keys.filter((k) => k.group === pool.group), strategy, cursors.group, cooldowns, now);
  if (!pool.fallbackToShared) return own;
  const resting = (k: K) => cooldowns.restingUntil(k.id, now) !== 0;
  const sharedOrder = attemptOrder(shared, strategy, cursors.shared, cooldowns, now);
  return [...own.filter((k) => !resting(k)), ...sharedOrder.filter((k) => !resting(k)), ...own.filter(resting), ...sharedOrder.filter(resting)];
}
