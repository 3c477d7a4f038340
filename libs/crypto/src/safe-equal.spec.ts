import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeEqual } from './hashing';

describe('safeEqual', () => {
  it('is string equality, for any strings of any lengths (500 pairs)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => safeEqual(a, b) === (a === b)),
      { numRuns: 250 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (a) => safeEqual(a, a)), { numRuns: 250 });
  });

  it.each([
    ['', ''],
    ['token', 'token'],
    ['é', 'é'],
  ])('accepts %j = %j', (a, b) => expect(safeEqual(a, b)).toBe(true));

  it.each([
    ['', 'a'],
    ['token', 'token '],
    ['token', 'Token'],
    ['admin-token-0123456789abcdef0123', 'admin-token-0123456789abcdef012'],
    // the same UTF-16 length, different bytes
    ['é', 'e\u0301'],
    ['a\u0000', 'a'],
  ])('refuses %j = %j', (a, b) => expect(safeEqual(a, b)).toBe(false));
});
