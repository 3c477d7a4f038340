import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRequestPath } from './request-path';

describe('normalizeRequestPath fast path', () => {
  it('answers a path that is already normal exactly as the full normalisation does', () => {
    const segment = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '~', '%', '2', 'e', 'F', ':', '@', '+', '*', "'", '\\', ' '), maxLength: 6 });
    const path = fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(path, (raw) => {
        // a leading "/." segment forces the full normalisation, and changes nothing else
        expect(normalizeRequestPath(raw)).toEqual(normalizeRequestPath(`/.${raw}`));
      }),
      { numRuns: 5_000 },
    );
  });

  it('keeps the common vendor paths as they are', () => {
    for (const p of ['/v1/chat/completions', '/v1/payment_intents/pi_123/confirm', '/2010-04-01/Accounts/AC1/Messages.json', '/emails/', '/v1/models/gpt-4o-mini:free']) {
      expect(normalizeRequestPath(p)).toEqual({ ok: true, path: p });
    }
  });
});
