import { describe, expect, it } from 'vitest';
import { duration, formatUsd, relativeTime, spendLevel, spendRatio, statusTone } from './format';

describe('console display helpers', () => {
  it('shows dollars with cents, and the fractions of a cent that LLM calls cost', () => {
    expect(formatUsd(12.34)).toBe('$12.34');
    expect(formatUsd(100)).toBe('$100.00');
    expect(formatUsd(1234567.5)).toBe('$1,234,567.50');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.0123)).toBe('$0.0123');
    expect(formatUsd(0.016)).toBe('$0.0160');
    expect(formatUsd(0.000042)).toBe('$0.000042');
    // never rounded: an embedding's 0.2 micro-dollars, a chat's 13.5, a spend with a nano-dollar tail
    expect(formatUsd(0.0000002)).toBe('$0.0000002');
    expect(formatUsd(0.0000135)).toBe('$0.0000135');
    expect(formatUsd(12.340000001)).toBe('$12.340000001');
  });

  it('fills the spend bar by share of the cap, never past full', () => {
    expect(spendRatio(25, 100)).toBe(0.25);
    expect(spendRatio(150, 100)).toBe(1);
    expect(spendRatio(0, 0)).toBe(0);
    expect(spendRatio(1, 0)).toBe(1);
    expect([0.5, 0.8, 1].map(spendLevel)).toEqual(['ok', 'warn', 'full']);
  });

  it('says when in words', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(relativeTime('2026-11-30T14:00:00Z', now)).toBe('in 2 hours');
    expect(relativeTime('2026-11-30T11:57:00Z', now)).toBe('3 minutes ago');
    expect(relativeTime('2026-11-30T12:00:10Z', now)).toBe('now');
    expect(relativeTime('not a date', now)).toBe('—');
  });

  it('formats durations and colours statuses by class', () => {
    expect(duration(87)).toBe('87 ms');
    expect(duration(1530)).toBe('1.53 s');
    expect([200, 302, 401, 429, 502].map(statusTone)).toEqual(['ok', 'ok', 'warn', 'warn', 'bad']);
  });
});
