import { describe, expect, it } from 'vitest';
import { hasPrefix, idTime, newId } from './ids';

// The module remembers the last millisecond it minted for, across every file a worker runs
// (isolate: false): each test here must hold whatever ids were minted before it.

describe('newId', () => {
  it('orders ids minted in the same millisecond as they were minted, and keeps them unique', () => {
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, (_, i) => newId(i % 2 ? 'audit' : 'vaultKey', now).replace(/^[a-z]+_/, ''));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });

  it('orders ids across milliseconds by time, and answers the millisecond it was minted for', () => {
    const now = Date.now();
    const [a, b, c] = [newId('audit', now), newId('audit', now + 1), newId('audit', now + 2)];
    expect([c, a, b].sort()).toEqual([a, b, c]);
    expect(idTime('audit', b)).toBe(now + 1);
    expect(hasPrefix('audit', a)).toBe(true);
  });

  it('gives a backdated id a random part of its own, and goes on in order after it', () => {
    const now = Date.now();
    const first = newId('audit', now);
    const past = newId('audit', now - 5_000);
    const next = newId('audit', now);
    expect(idTime('audit', past)).toBe(now - 5_000);
    expect(next > first).toBe(true);
  });

  it('keeps ordering the clock\'s ids after one minted for a time ahead of the clock (a seeded row)', () => {
    const ahead = newId('audit', Date.now() + 3_600_000);
    const now = Date.now();
    const ids = Array.from({ length: 100 }, () => newId('audit', now));
    expect([...ids].sort()).toEqual(ids);
    expect(idTime('audit', ahead)).toBeGreaterThan(now);
  });
});
