import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  callFingerprint,
  canonicalBody,
  defaultDuplicateWindowSeconds,
  derivedIdempotencyKey,
  exceedsPerCallLimit,
  isModelGlob,
  modelAllowed,
  modelMatches,
  parseDuplicateWindow,
  RATE_WINDOW_MS,
  slidingWindowAdmit,
} from './guardrails';

const RUNS = 300;
const modelName = fc.stringMatching(/^[a-z0-9.-]{1,20}$/);

describe('exceedsPerCallLimit', () => {
  it('refuses exactly the calls above the limit, and none without one', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.bigInt({ min: 0n, max: 10n ** 15n }), (limit, cost) => {
        expect(exceedsPerCallLimit(limit, cost)).toBe(cost > limit);
        expect(exceedsPerCallLimit(null, cost)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('model globs', () => {
  it('a glob without * matches only itself', () => {
    fc.assert(fc.property(modelName, modelName, (a, b) => modelMatches(a, b) === (a === b)), { numRuns: RUNS });
  });

  it('a glob made from a model by replacing any slice with * matches it', () => {
    fc.assert(
      fc.property(modelName, fc.nat(), fc.nat(), (model, i, j) => {
        const [from, to] = [i % (model.length + 1), j % (model.length + 1)].sort((x, y) => x - y);
        return modelMatches(`${model.slice(0, from)}*${model.slice(to)}`, model);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with a regular expression built from the glob', () => {
    const glob = fc.array(fc.oneof(fc.constant('*'), fc.constantFrom('a', 'b', '-', '4o')), { maxLength: 6 }).map((p) => p.join(''));
    const model = fc.array(fc.constantFrom('a', 'b', '-', '4o'), { maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(glob, model, (g, m) => {
        const re = new RegExp(`^${g.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`, 's');
        return modelMatches(g, m) === re.test(m);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('examples: families and exact names', () => {
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o')).toBe(false);
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini')).toBe(true);
    expect(modelAllowed(['claude-3-5-haiku-*'], 'claude-3-5-haiku-20241022')).toBe(true);
    expect(modelAllowed(['claude-3-5-haiku-*'], 'claude-3-5-sonnet-20241022')).toBe(false);
    expect(modelAllowed(['gpt-4o-mini'], undefined)).toBe(false);
    expect(modelAllowed(null, undefined)).toBe(true);
    expect(isModelGlob('gpt-4o-*')).toBe(true);
    expect(isModelGlob('gpt 4o')).toBe(false);
    expect(isModelGlob('')).toBe(false);
  });
});

describe('duplicate_window', () => {
  it('is 10 minutes for vendors that move money, off for the rest', () => {
    expect(defaultDuplicateWindowSeconds('stripe')).toBe(600);
    expect(defaultDuplicateWindowSeconds('twilio')).toBe(600);
    expect(defaultDuplicateWindowSeconds('resend')).toBe(600);
    expect(defaultDuplicateWindowSeconds('openai')).toBe(0);
  });

  it('parses 0 or a duration of at most a day, and nothing else', () => {
    expect(parseDuplicateWindow('0')).toBe(0);
    expect(parseDuplicateWindow('10m')).toBe(600);
    expect(parseDuplicateWindow('24h')).toBe(86_400);
    expect(parseDuplicateWindow('2d')).toBeNull();
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const s = parseDuplicateWindow(v);
        return s === null || (Number.isSafeInteger(s) && s >= 0 && s <= 86_400);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('canonicalBody and the call fingerprint', () => {
  const fields = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), fc.string({ maxLength: 8 })), { selector: (p) => p[0], maxLength: 8 });
  const form = 'application/x-www-form-urlencoded';

  it('a form body is the same call whatever the order of its fields', () => {
    fc.assert(
      fc.property(fields, fc.nat(), (pairs, seed) => {
        const shuffled = [...pairs].sort((a, b) => ((a[0].charCodeAt(0) * 31 + seed) % 7) - ((b[0].charCodeAt(0) * 31 + seed) % 7));
        const a = Buffer.from(new URLSearchParams(pairs).toString());
        const b = Buffer.from(new URLSearchParams(shuffled).toString());
        return canonicalBody(form, a) === canonicalBody(form, b);
      }),
      { numRuns: RUNS },
    );
  });

  it('a JSON body is the same call whatever the order or spacing of its keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue(), { maxKeys: 6 }), (doc) => {
        const reversed = Object.fromEntries(Object.entries(doc).reverse());
        return canonicalBody('application/json', Buffer.from(JSON.stringify(doc))) === canonicalBody('application/json', Buffer.from(JSON.stringify(reversed, null, 2)));
      }),
      { numRuns: RUNS },
    );
  });

  it('different values are different calls; a repeated field keeps its order', () => {
    expect(canonicalBody(form, Buffer.from('amount=100&currency=usd'))).not.toBe(canonicalBody(form, Buffer.from('amount=101&currency=usd')));
    expect(canonicalBody(form, Buffer.from('a=1&a=2'))).not.toBe(canonicalBody(form, Buffer.from('a=2&a=1')));
    const fp = (body: string) => callFingerprint('vk_1', 'POST', '/v1/payment_intents', canonicalBody(form, Buffer.from(body)));
    expect(fp('amount=100&currency=usd')).toBe(fp('currency=usd&amount=100'));
    expect(callFingerprint('vk_2', 'POST', '/v1/payment_intents', 'x')).not.toBe(callFingerprint('vk_1', 'POST', '/v1/payment_intents', 'x'));
  });

  it('derives one idempotency key per first call, within Stripe’s 255 characters', () => {
    const k = derivedIdempotencyKey('f'.repeat(64), 'aud_1');
    expect(k).toBe(derivedIdempotencyKey('f'.repeat(64), 'aud_1'));
    expect(k).not.toBe(derivedIdempotencyKey('f'.repeat(64), 'aud_2'));
    expect(k.length).toBeLessThanOrEqual(255);
  });
});

describe('slidingWindowAdmit', () => {
  it('never admits more than the limit in any 60 s window, whatever the arrival times', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 200 }), (limit, gaps) => {
        let stamps: number[] = [];
        const admitted: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const r = slidingWindowAdmit(stamps, now, limit);
          stamps = r.stamps;
          if (r.admitted) admitted.push(now);
          else if (r.retryAfterMs <= 0 || r.retryAfterMs > RATE_WINDOW_MS) return false;
        }
        // every window (t - 60 s, t] ending at an admission holds at most `limit` admissions
        return admitted.every((t) => admitted.filter((s) => s > t - RATE_WINDOW_MS && s <= t).length <= limit);
      }),
      { numRuns: RUNS },
    );
  });

  it('admits again once the oldest call has left the window', () => {
    const full = slidingWindowAdmit([0, 1000], 2000, 2);
    expect(full).toMatchObject({ admitted: false, retryAfterMs: 58_000 });
    expect(slidingWindowAdmit(full.stamps, 60_000, 2).admitted).toBe(true);
  });
});
