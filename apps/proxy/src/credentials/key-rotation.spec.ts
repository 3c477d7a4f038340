import { describe, expect, it } from 'vitest';
import { attemptOrder, KeyCooldowns, retryAfterSeconds } from './key-rotation';

const keys = [{ id: 'ck_a' }, { id: 'ck_b' }, { id: 'ck_c' }];
const ids = (ks: { id: string }[]) => ks.map((k) => k.id);

describe('attemptOrder', () => {
  it('failover always starts at the lowest position', () => {
    const c = new KeyCooldowns();
    expect(ids(attemptOrder(keys, 'failover', 0, c))).toEqual(['ck_a', 'ck_b', 'ck_c']);
    expect(ids(attemptOrder(keys, 'failover', 7, c))).toEqual(['ck_a', 'ck_b', 'ck_c']);
  });

  it('round_robin starts one further on each call', () => {
    const c = new KeyCooldowns();
    expect([0, 1, 2, 3].map((i) => attemptOrder(keys, 'round_robin', i, c)[0].id)).toEqual(['ck_a', 'ck_b', 'ck_c', 'ck_a']);
    expect(ids(attemptOrder(keys, 'round_robin', 1, c))).toEqual(['ck_b', 'ck_c', 'ck_a']);
  });

  it('puts resting keys last, soonest rested first, and brings them back when rested', () => {
    const c = new KeyCooldowns();
    const now = 1_000_000;
    c.refused('ck_a', 60, now);
    c.refused('ck_b', 10, now);
    expect(ids(attemptOrder(keys, 'failover', 0, c, now))).toEqual(['ck_c', 'ck_b', 'ck_a']);
    expect(ids(attemptOrder(keys, 'failover', 0, c, now + 11_000))).toEqual(['ck_b', 'ck_c', 'ck_a']);
    c.served('ck_a');
    expect(ids(attemptOrder(keys, 'failover', 0, c, now))).toEqual(['ck_a', 'ck_c', 'ck_b']);
  });

  it('backs off exponentially without Retry-After', () => {
    const c = new KeyCooldowns();
    c.refused('ck_a', null, 0);
    expect(c.restingUntil('ck_a', 0)).toBe(1_000);
    c.refused('ck_a', null, 0);
    expect(c.restingUntil('ck_a', 0)).toBe(2_000);
    for (let i = 0; i < 20; i++) c.refused('ck_a', null, 0);
    expect(c.restingUntil('ck_a', 0)).toBe(300_000);
  });

  it('is empty for a profile without keys', () => expect(attemptOrder([], 'round_robin', 3, new KeyCooldowns())).toEqual([]));
});

describe('retryAfterSeconds', () => {
  it.each([
    ['30', 30],
    [' 5 ', 5],
    [undefined, null],
    ['soon', null],
  ])('%j → %j', (h, s) => expect(retryAfterSeconds(h)).toBe(s));
  it('reads an HTTP date', () => expect(retryAfterSeconds(new Date(10_000).toUTCString(), 0)).toBe(10));
});
