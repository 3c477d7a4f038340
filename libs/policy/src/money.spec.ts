import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nanosToUsd, nanosToUsdText, scaledDecimal, usdText, usdToNanos } from './money';

describe('money: nano-dollars inside, USD decimals at the edge', () => {
  it('reads USD amounts digit by digit, to the nano-dollar', () => {
    expect(usdToNanos(0.002)).toBe(2_000_000n);
    expect(usdToNanos(0.0000002)).toBe(200n); // written 2e-7 by JavaScript
    expect(usdToNanos('2e-7')).toBe(200n);
    expect(usdToNanos(12.34)).toBe(12_340_000_000n);
    expect(usdToNanos(1_000_000)).toBe(1_000_000_000_000_000n);
    expect(usdToNanos(999_999.999999999)).toBe(999_999_999_999_999n);
    expect(usdToNanos(0.000000001)).toBe(1n);
    expect(usdToNanos(0)).toBe(0n);
    expect(usdToNanos('1.500000000000')).toBe(1_500_000_000n);
  });

  it('refuses rather than rounds: more than 9 decimals, float drift, negatives, non-numbers', () => {
    for (const bad of [0.0000000001, 0.1 + 0.2, -1, Number.NaN, Number.POSITIVE_INFINITY, '1,5', '', '0x10', '1e400']) {
      expect(usdToNanos(bad as number)).toBeNull();
    }
  });

  it('scales decimals to any grid', () => {
    expect(scaledDecimal(0.15, 3)).toBe(150n);
    expect(scaledDecimal(0.0375, 3)).toBeNull();
    expect(scaledDecimal(1.5e3, 0)).toBe(1500n);
    expect(scaledDecimal(0, 0)).toBe(0n);
  });

  it('writes nano-dollars as exact decimal USD', () => {
    expect(nanosToUsdText(200n)).toBe('0.0000002');
    expect(nanosToUsdText(2_000_000n)).toBe('0.002');
    expect(nanosToUsdText(100_000_000_000n)).toBe('100');
    expect(nanosToUsdText('12340000000')).toBe('12.34');
    expect(nanosToUsdText(-5n)).toBe('-0.000000005');
    expect(nanosToUsd(13_500n)).toBe(0.0000135);
    expect(usdText(2e-7)).toBe('0.0000002');
    expect(usdText(12.5)).toBe('12.5');
  });

  it('round-trips every amount below $1,000,000 through a JSON number exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 999_999_999_999_999n }), (nanos) => {
        const json = JSON.parse(JSON.stringify({ usd: nanosToUsd(nanos) })) as { usd: number };
        expect(usdToNanos(json.usd)).toBe(nanos);
      }),
      { numRuns: 5_000 },
    );
  });
});
