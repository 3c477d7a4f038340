import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_MS, retryDelayMs } from './retry-policy';

describe('retryDelayMs (exponential backoff, full jitter)', () => {
  it('doubles the ceiling with each failed attempt', () => {
    const top = () => 0.999999;
    expect(retryDelayMs(1, 1000, top)).toBe(999);
    expect(retryDelayMs(2, 1000, top)).toBe(1999);
    expect(retryDelayMs(5, 1000, top)).toBe(15_999);
  });

  it('spreads delays over the whole range from zero', () => {
    expect(retryDelayMs(4, 1000, () => 0)).toBe(0);
    expect(retryDelayMs(4, 1000, () => 0.5)).toBe(4000);
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    expect(retryDelayMs(1000, 5000, () => 0.999999)).toBeLessThan(MAX_BACKOFF_MS);
    expect(retryDelayMs(30, 5000, () => 0.999999)).toBeGreaterThan(MAX_BACKOFF_MS - 10);
  });
});
