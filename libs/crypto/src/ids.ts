import { randomFillSync } from 'node:crypto';

export const ID_PREFIXES = {
  tenant: 'ten_',
  tenantApiKey: 'tak_',
  credential: 'cred_',
  credentialKey: 'ck_',
  vaultKey: 'vk_',
  audit: 'aud_',
  webhook: 'whk_',
  webhookEvent: 'evt_',
  webhookDelivery: 'whd_',
  signingKey: 'sig_',
  spendLease: 'lease_',
  gatewayKey: 'gwk_',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase

/**
 * Prefixed, time-ordered ids (ULID layout: 10 chars of milliseconds, 16 random), so that
 * sorting ids bytewise (COLLATE "C") sorts by creation and cursor paging needs only the id.
 * Monotonic within a process, as ULID's monotonic factory: an id minted in the same millisecond
 * as the one before it takes that one's random part plus one, so two calls a process audits
 * within one millisecond still list in the order they happened (with fresh random parts they came
 * out in either order). An id minted for an earlier millisecond (a backdated `now`) or a later
 * one than the clock's is random.
 */
export function newId(kind: IdKind, now = Date.now()): string {
  return idFloor(kind, now) + randomPart(now);
}

/**
 * The smallest id of a kind minted at `ms`: its prefix and 10 time characters, no random part.
 * Ids compare bytewise, so `id >= idFloor(kind, from)` and `id < idFloor(kind, to)` are time bounds.
 */
export function idFloor(kind: IdKind, ms: number): string {
  let time = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return ID_PREFIXES[kind] + time;
}

/** The random part of the last id minted, as base-32 digits, and its millisecond. */
const lastRandom: number[] = new Array<number>(16).fill(0);
let lastMs = -1;

function randomPart(now: number): string {
  if (now === lastMs && increment(lastRandom)) return digitsText(lastRandom);
  // An id for a millisecond before the latest (backdated) or ahead of the clock (a seeded row)
  // draws its own digits and leaves the state to the clock's ids: a state moved into the future
  // would leave every id after it random, so unordered, until the clock caught up.
  const own = now < lastMs || now > Date.now();
  const digits = own ? new Array<number>(16) : lastRandom;
  for (let i = 0; i < 16; i++) digits[i] = randomDigit();
  if (!own) lastMs = now;
  return digitsText(digits);
}

function digitsText(digits: number[]): string {
  let out = '';
  for (const d of digits) out += ALPHABET[d];
  return out;
}

/** Adds one to base-32 digits in place; false when they were all 31 (2^80 ids in a millisecond). */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i] < 31) {
      digits[i]++;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

/**
 * Random bytes are drawn from the CSPRNG a pool at a time, each byte used once: an id is made
 * for every proxied call (its audit row), and one randomBytes() call per id cost more than the
 * rest of the id.
 */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/** One base-32 digit (0–31) from the pool. */
function randomDigit(): number {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  return POOL[poolAt++] & 31;
}

export function randomChars(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[randomDigit()];
  return out;
}

/** The millisecond an id of `kind` was minted for (newId's `now`), or null when it is not such an id. */
export function idTime(kind: IdKind, id: string): number | null {
  if (!hasPrefix(kind, id)) return null;
  let t = 0;
  for (const ch of id.slice(ID_PREFIXES[kind].length, ID_PREFIXES[kind].length + 10)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    t = t * 32 + v;
  }
  return t;
}

export function hasPrefix(kind: IdKind, id: string): boolean {
  return id.startsWith(ID_PREFIXES[kind]) && /^[a-z_]+[0-9a-z]{26}$/.test(id);
}
