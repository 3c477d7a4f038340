import { describe, expect, it } from 'vitest';
import { secondsUntilUtcMidnight, utcDay } from './utc-day';

describe('UTC day', () => {
  it('names the UTC day', () => {
    expect(utcDay(Date.UTC(2026, 10, 22, 23, 59, 59))).toBe('2026-11-22');
    expect(utcDay(Date.UTC(2026, 10, 23, 0, 0, 0))).toBe('2026-11-23');
  });
  it('counts whole seconds to the next UTC midnight, at least one', () => {
    expect(secondsUntilUtcMidnight(Date.UTC(2026, 10, 22, 0, 0, 0))).toBe(86_400);
    expect(secondsUntilUtcMidnight(Date.UTC(2026, 10, 22, 23, 0, 0))).toBe(3_600);
    expect(secondsUntilUtcMidnight(Date.UTC(2026, 10, 22, 23, 59, 59, 500))).toBe(1);
  });
});
