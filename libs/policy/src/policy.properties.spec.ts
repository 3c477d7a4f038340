import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from './duration';
import { matchEndpoint, parseEndpointRule, type EndpointRule } from './endpoint-rules';
import { normalizeRequestPath } from './request-path';

/**
 * Properties of the pure rules that decide access, over generated inputs (fast-check): nothing
 * throws, and what each function promises holds for every input tried, not only the examples.
 */
const RUNS = 300;
let inputs = 0;
const counted = <T>(arb: fc.Arbitrary<T>) => arb.map((v) => (inputs++, v));
afterAll(() => {
  console.info(`policy properties: ${inputs} generated inputs`);
});

/** Path pieces an attacker would try: dot segments, encoded slashes and dots, doubled encodings, controls, unicode. */
const hostileSegment = fc.oneof(
  fc.constantFrom('', '.', '..', '%2e', '%2E%2e', '.%2e', '%2f', '%2F', '%5c', '%5C', '\\', '%252e', '%25', '%', '%zz', '%00', '%0a', '~', ';', 'a%2fb', '..%2f', '%c0%af', 'é', '%C3%A9', '*', '**'),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/),
);
const hostilePath = fc.array(hostileSegment, { maxLength: 10 }).map((segs) => `/${segs.join('/')}`);
const anyPath = fc.oneof(hostilePath, fc.string({ unit: 'binary', maxLength: 60 }));

describe('parseDuration (expires_in)', () => {
  it('never throws, and answers null or a whole number of seconds within the maximum', () => {
    fc.assert(
      fc.property(counted(fc.oneof(fc.anything(), fc.string(), fc.stringMatching(/^[0-9]{0,9}[a-zA-Z]?$/))), (v) => {
        const s = parseDuration(v);
        return s === null || (Number.isSafeInteger(s) && s > 0 && s <= MAX_DURATION_SECONDS);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads `<n><m|h|d>` as n units, and refuses it past the maximum', () => {
    const units = { m: 60, h: 3600, d: 86400 } as const;
    fc.assert(
      fc.property(counted(fc.integer({ min: 1, max: 9_999_999 })), fc.constantFrom('m', 'h', 'd'), (n, u) => {
        const expected = n * units[u as keyof typeof units];
        expect(parseDuration(`${n}${u}`)).toBe(expected <= MAX_DURATION_SECONDS ? expected : null);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses every other spelling: signs, zeros, spaces, decimals, capitals, other units', () => {
    fc.assert(
      fc.property(
        counted(fc.integer({ min: 1, max: 999 })),
        fc.constantFrom((n: number) => `-${n}h`, (n: number) => `+${n}h`, (n: number) => `0${n}h`, (n: number) => ` ${n}h`, (n: number) => `${n}h `,
          (n: number) => `${n}.5h`, (n: number) => `${n}H`, (n: number) => `${n}s`, (n: number) => `${n}`, (n: number) => `${n}hh`, (n: number) => `${n}h\n`),
        (n, spell) => parseDuration(spell(n)) === null,
      ),
      { numRuns: RUNS },
    );
  });

  it('formats every duration it accepts back to one that parses to the same seconds', () => {
    fc.assert(
      fc.property(counted(fc.integer({ min: 1, max: MAX_DURATION_SECONDS / 60 })), (minutes) => parseDuration(formatDuration(minutes * 60)) === minutes * 60),
      { numRuns: RUNS },
    );
  });
});

describe('normalizeRequestPath', () => {
  it('never throws, and a path it accepts has no dot segment, doubled slash, encoded slash or control byte', () => {
    fc.assert(
      fc.property(counted(anyPath), (raw) => {
        const n = normalizeRequestPath(raw);
        if (!n.ok) return typeof n.reason === 'string';
        const segments = n.path.split('/').slice(1);
        if (n.path.endsWith('/') && n.path !== '/') segments.pop();
        expect(n.path.startsWith('/')).toBe(true);
        expect(n.path).not.toMatch(/\/\//);
        expect(n.path).not.toMatch(/%2f|%5c|\\/i);
        // eslint-disable-next-line no-control-regex
        expect(n.path).not.toMatch(/[\u0000-\u001f\u007f]/);
        for (const seg of segments.filter(Boolean)) {
          expect(['.', '..']).not.toContain(decodeURIComponent(seg));
          expect(decodeURIComponent(seg)).not.toMatch(/[/\\]/);
        }
        return true;
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('is idempotent: a normalised path normalises to itself', () => {
    fc.assert(
      fc.property(counted(anyPath), (raw) => {
        const once = normalizeRequestPath(raw);
        if (!once.ok) return true;
        expect(normalizeRequestPath(once.path)).toEqual(once);
        return true;
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('keeps plain paths as they are', () => {
    fc.assert(
      fc.property(counted(fc.array(fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,11}$/), { minLength: 1, maxLength: 6 })), (segs) => {
        const path = `/${segs.join('/')}`;
        return normalizeRequestPath(path).ok && (normalizeRequestPath(path) as { path: string }).path === path;
      }),
      { numRuns: RUNS },
    );
  });
});

describe('allowed_endpoints rules', () => {
  const literal = fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,9}$/);
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', '*');
  /** A rule as a user writes it: literals, `*`, `{placeholders}`, maybe a final `**`. */
  const ruleText = fc
    .tuple(method, fc.array(fc.oneof(literal, fc.constant('*'), fc.constant('{sid}')), { maxLength: 5 }), fc.boolean())
    .map(([m, segs, rest]) => `${m} /${[...segs, ...(rest ? ['**'] : [])].join('/')}`);
  const parsed = (text: string): EndpointRule => {
    const r = parseEndpointRule(text);
    if (!r.ok) throw new Error(`${text}: ${r.message}`);
    return r.rule;
  };

  it('parse never throws on anything, and answers a message when it refuses', () => {
    fc.assert(
      fc.property(counted(fc.oneof(fc.anything(), fc.string(), ruleText.map((t) => `${t}${'/x'.repeat(2)}`), hostilePath.map((p) => `GET ${p}`))), (entry) => {
        const r = parseEndpointRule(entry);
        return r.ok ? r.rule.segments.every((s) => s.length > 0) : r.message.length > 0;
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('accepts every well-formed rule', () => {
    fc.assert(fc.property(counted(ruleText), (text) => parseEndpointRule(text).ok), { numRuns: RUNS });
  });

  it('matches every path the rule describes (placeholders and ** filled in)', () => {
    fc.assert(
      fc.property(counted(ruleText), fc.array(literal, { minLength: 6, maxLength: 12 }), (text, fill) => {
        const rule = parsed(text);
        const segs = rule.segments.flatMap((s, i) => (s === '**' ? fill.slice(0, 1 + (i % 3)) : s === '*' ? [fill[i]] : [s]));
        const m = rule.method === '*' ? 'PATCH' : rule.method.toLowerCase();
        return matchEndpoint([rule], m, `/${segs.join('/')}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('a path it matches always has the rule\'s literal segments in place, the right length and the method', () => {
    fc.assert(
      fc.property(counted(ruleText), method, anyPath, fc.array(literal, { maxLength: 4 }), (text, m, raw, extra) => {
        const rule = parsed(text);
        // half the paths are near misses of the rule, the rest anything that normalises
        const near = `/${[...rule.segments.map((s, i) => (s === '*' || s === '**' ? extra[i % Math.max(extra.length, 1)] ?? 'x' : s)), ...extra].join('/')}`;
        for (const candidate of [raw, near]) {
          const n = normalizeRequestPath(candidate);
          if (!n.ok || !matchEndpoint([rule], m, n.path)) continue;
          const segs = n.path.split('/').filter(Boolean);
          const rest = rule.segments.at(-1) === '**';
          const fixed = rest ? rule.segments.slice(0, -1) : rule.segments;
          expect(rest ? segs.length > fixed.length : segs.length === fixed.length).toBe(true);
          fixed.forEach((s, i) => {
            if (s !== '*') expect(segs[i]).toBe(s);
          });
          expect(rule.method === '*' || rule.method === m.toUpperCase()).toBe(true);
        }
        return true;
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
