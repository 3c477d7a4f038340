import { describe, expect, it } from 'vitest';
import { KeyCooldowns, poolOrder } from './key-rotation';

const keys = [
  { id: 'ck_shared1', group: null },
  { id: 'ck_a', group: 'user-a' },
  { id: 'ck_b1', group: 'team-b' },
  { id: 'ck_shared2', group: null },
  { id: 'ck_b2', group: 'team-b' },
];
const ids = (ks: { id: string }[]) => ks.map((k) => k.id);
const at0 = { group: 0, shared: 0 };

describe('poolOrder', () => {
  it('gives a vault key without a group the shared keys only', () => {
    expect(ids(poolOrder(keys, { group: null, fallbackToShared: false }, 'failover', at0, new KeyCooldowns()))).toEqual(['ck_shared1', 'ck_shared2']);
  });

  it("gives a group's vault key that group's keys only, round robin within the group", () => {
    const c = new KeyCooldowns();
    expect(ids(poolOrder(keys, { group: 'user-a', fallbackToShared: false }, 'round_robin', at0, c))).toEqual(['ck_a']);
    expect(ids(poolOrder(keys, { group: 'team-b', fallbackToShared: false }, 'round_robin', at0, c))).toEqual(['ck_b1', 'ck_b2']);
    expect(ids(poolOrder(keys, { group: 'team-b', fallbackToShared: false }, 'round_robin', { group: 1, shared: 0 }, c))).toEqual(['ck_b2', 'ck_b1']);
  });

  it('falls back to the shared keys only after the ready keys of the group', () => {
    const c = new KeyCooldowns();
    const pool = { group: 'team-b', fallbackToShared: true };
    expect(ids(poolOrder(keys, pool, 'failover', at0, c))).toEqual(['ck_b1', 'ck_b2', 'ck_shared1', 'ck_shared2']);
    const now = 1_000_000;
    c.refused('ck_b1', 60, now);
    expect(ids(poolOrder(keys, pool, 'failover', at0, c, now))).toEqual(['ck_b2', 'ck_shared1', 'ck_shared2', 'ck_b1']);
    c.refused('ck_b2', 30, now);
    // the whole group rests: shared first, then the group's keys, soonest rested first
    expect(ids(poolOrder(keys, pool, 'failover', at0, c, now))).toEqual(['ck_shared1', 'ck_shared2', 'ck_b2', 'ck_b1']);
  });
});
