import { describe, expect, it } from 'vitest';
import { BudgetLease, LEASE_HORIZON_MS, MIN_LEASE_CALLS } from './budget-lease';

describe('budget lease accounting', () => {
  it('draws worst cases from the room and gives back what calls did not cost', () => {
    const lease = new BudgetLease(0);
    lease.held = 100n;
    lease.draw(30n, 1);
    lease.draw(30n, 2);
    expect(lease.room).toBe(40n);
    lease.finish(30n, 4n);
    expect(lease.room).toBe(66n);
    expect(lease.unsettled).toBe(4n);
    expect(lease.lastDrawAt).toBe(2);
  });

  it('moves unsettled cost out of what it holds when booked, leaving the room unchanged', () => {
    const lease = new BudgetLease(0);
    lease.held = 100n;
    lease.draw(30n, 1);
    lease.finish(30n, 10n);
    const room = lease.room;
    expect(lease.takeUnsettled()).toBe(10n);
    expect(lease.held).toBe(90n);
    expect(lease.unsettled).toBe(0n);
    expect(lease.room).toBe(room);
  });

  it('aims at a few calls of its largest worst case before it knows the traffic', () => {
    const lease = new BudgetLease(0);
    expect(lease.target()).toBe(0n);
    lease.draw(25n, 1);
    expect(lease.target()).toBe(25n * MIN_LEASE_CALLS);
    lease.draw(10n, 2);
    expect(lease.target()).toBe(25n * MIN_LEASE_CALLS);
  });

  it('follows the traffic: a horizon of its draw rate, down again when the key goes quiet', () => {
    const lease = new BudgetLease(0);
    for (let i = 0; i < 1000; i++) lease.draw(10n, i);
    lease.tick(1000); // 10,000 micro-dollars in a second
    expect(lease.target()).toBe(BigInt((10_000 * LEASE_HORIZON_MS) / 1000));
    for (let i = 0; i < 20; i++) lease.tick(1000);
    expect(lease.target()).toBeLessThan(10n * MIN_LEASE_CALLS);
  });

  it('is low below half its target, and offers back what exceeds twice its target', () => {
    const lease = new BudgetLease(0);
    lease.draw(10n, 0); // target 40
    lease.held = 10n + 19n;
    expect(lease.room).toBe(19n);
    expect(lease.low).toBe(true);
    lease.held = 10n + 20n;
    expect(lease.low).toBe(false);
    expect(lease.surplus()).toBe(0n);
    lease.held = 10n + 81n;
    expect(lease.surplus()).toBe(81n - 40n);
  });

  it('prefetches in whole calls of the largest recent one', () => {
    const lease = new BudgetLease(0);
    expect(lease.largestCall).toBe(1n);
    lease.draw(7n, 0);
    lease.draw(3n, 0);
    expect(lease.largestCall).toBe(7n);
  });
});
