import { createHash } from 'node:crypto';
import { parseDuration } from './duration';
import type { InputKind } from './unbounded-inputs';

/**
 * Guardrails for autonomous agents (issue 19): limits a vault key carries beside its daily cap.
 * Every rule here is a pure function; the proxy calls them and keeps the shared state (duplicate
 * claims, per-minute windows) in Postgres so they hold across instances.
 */
export interface Guardrails {
  /** a call whose known cost or LLM worst case is above this is refused (null: no limit) */
  maxCallNanos: bigint | null;
  /** model globs for LLM vendors (null: any priced model) */
  allowedModels: string[] | null;
  /** seconds within which a repeated money-moving call is a duplicate (0: off) */
  duplicateWindowSeconds: number;
  /** calls admitted in any 60 s window (null: no limit) */
  maxCallsPerMinute: number | null;
  /** LLM tokens (worst case when admitted, settled to usage) in any 60 s window (null: no limit) */
  maxTokensPerMinute: number | null;
  /** LLM inputs the body's bytes do not bound that calls may carry (null: every kind the price list prices) */
  allowedInputs?: readonly InputKind[] | null;
}

export const NO_GUARDRAILS: Guardrails = { maxCallNanos: null, allowedModels: null, duplicateWindowSeconds: 0, maxCallsPerMinute: null, maxTokensPerMinute: null };

/** Vendors whose calls move money or send something that cannot be unsent (a charge, an SMS, an email). */
export const MONEY_VENDORS: readonly string[] = ['stripe', 'twilio', 'resend'];

/** `duplicate_window` when the issuer names none: 10 minutes for money-moving vendors, off for the rest. */
export const DEFAULT_DUPLICATE_WINDOW_SECONDS = 600;
export function defaultDuplicateWindowSeconds(vendor: string): number {
  return MONEY_VENDORS.includes(vendor) ? DEFAULT_DUPLICATE_WINDOW_SECONDS : 0;
}

/** Longest duplicate window: a day (Stripe keeps idempotency keys for at least 24 hours). */
export const MAX_DUPLICATE_WINDOW_SECONDS = 86_400;

/** `duplicate_window`: `0` (off) or a duration (`30m`, `2h`, `1d`) of at most a day; null when invalid. */
export function parseDuplicateWindow(text: unknown): number | null {
  if (text === '0' || text === 0) return 0;
  const seconds = parseDuration(text);
  return seconds !== null && seconds <= MAX_DUPLICATE_WINDOW_SECONDS ? seconds : null;
}

/** True when a call costing `costNanos` (known cost or worst case) passes the per-call limit. */
export function exceedsPerCallLimit(maxCallNanos: bigint | null, costNanos: bigint): boolean {
  return maxCallNanos !== null && costNanos > maxCallNanos;
}

/** An `allowed_models` entry: a model name where `*` stands for any run of characters. */
const MODEL_GLOB = /^[A-Za-z0-9._:/@*-]{1,200}$/;
export function isModelGlob(entry: unknown): entry is string {
  return typeof entry === 'string' && MODEL_GLOB.test(entry);
}

/** Whether `model` matches `glob` in full (`*` any run of characters, case-sensitive). */
export function modelMatches(glob: string, model: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === model;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (model.length < first.length + last.length || !model.startsWith(first) || !model.endsWith(last)) return false;
  let at = first.length;
  const end = model.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = model.indexOf(parts[i], at);
    if (found < 0 || found + parts[i].length > end) return false;
    at = found + parts[i].length;
  }
  return true;
}

/** Whether a model may be called under `allowed_models` (null: any). A missing model is never allowed by a list. */
export function modelAllowed(globs: readonly string[] | null, model: string | undefined): boolean {
  if (globs === null) return true;
  return model !== undefined && globs.some((g) => modelMatches(g, model));
}

/**
 * A request body in a form that does not depend on how the client spelled it: a JSON object
 * with its keys sorted at every level, a form body with its fields sorted by name (the values
 * of one repeated name keep their order, which Stripe reads as a list), and any other body as
 * its bytes. Two bodies that mean the same call compare equal.
 */
export function canonicalBody(contentType: string | undefined, body: Buffer): string {
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('json')) {
    try {
      return `json:${canonicalJson(JSON.parse(body.toString('utf8')))}`;
    } catch {
      return `bytes:${body.toString('base64')}`;
    }
  }
  if (type.includes('x-www-form-urlencoded')) {
    const pairs = [...new URLSearchParams(body.toString('utf8'))];
    const order = pairs.map((p, i) => ({ p, i })).sort((a, b) => (a.p[0] < b.p[0] ? -1 : a.p[0] > b.p[0] ? 1 : a.i - b.i));
    return `form:${new URLSearchParams(order.map((o) => o.p)).toString()}`;
  }
  return `bytes:${body.toString('base64')}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The identity of a call for duplicate detection: key, method, path and canonical body, hashed. */
export function callFingerprint(vaultKeyId: string, method: string, path: string, canonical: string): string {
  return createHash('sha256').update(`${vaultKeyId}\n${method.toUpperCase()}\n${path}\n${canonical}`).digest('hex');
}

/**
 * The Idempotency-Key the proxy sends Stripe for a call without one: the same for every
 * duplicate of the first call in the window (so Stripe answers them the first object), and a
 * new one once the window has passed (the same body is then a new payment).
 */
export function derivedIdempotencyKey(fingerprint: string, firstAuditId: string): string {
  return `keyvault-${createHash('sha256').update(`${fingerprint}\n${firstAuditId}`).digest('hex').slice(0, 48)}`;
}

/** The window the per-minute limits count over. */
export const RATE_WINDOW_MS = 60_000;

/**
 * One admission decision of a sliding-window limit: `stamps` are the times (ms) of calls admitted
 * earlier. A call at `now` is admitted when fewer than `limit` of them fall in (now - 60 s, now];
 * the stamps kept are those still in the window (plus `now` when admitted). When refused,
 * `retryAfterMs` is when the oldest stamp in the window leaves it. The proxy runs this same rule
 * in one SQL statement on a row per key (see RateLimiter), so it holds across instances.
 */
export function slidingWindowAdmit(stamps: readonly number[], now: number, limit: number): { admitted: boolean; stamps: number[]; retryAfterMs: number } {
  const live = stamps.filter((s) => s > now - RATE_WINDOW_MS);
  if (live.length < limit) return { admitted: true, stamps: [...live, now], retryAfterMs: 0 };
  const oldest = Math.min(...live);
  return { admitted: false, stamps: live, retryAfterMs: Math.max(1, oldest + RATE_WINDOW_MS - now) };
}
