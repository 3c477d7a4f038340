import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetLease, leaseGrant } from './budget-lease';
import {
  budgetPeriod,
  budgetPeriodEnd,
  callBudgets,
  capMarksCrossed,
  firstBudgetRefusing,
  levelOf,
  missingKeyCap,
  secondsUntilBudgetResets,
  BUDGET_LEVELS,
  type BudgetLevel,
} from './budgets';

const RUNS = 300;
const DAY_MS = 86_400_000;
/** 2000-01-01 .. 2100-01-01 */
const instant = fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 });
const level = fc.constantFrom(...BUDGET_LEVELS);

describe('budget periods', () => {
  it('books a profile day per UTC day, a month per calendar month (UTC), a key life in one period', () => {
    const t = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
    expect(budgetPeriod('credential_daily', t)).toBe('2026-12-31');
    expect(budgetPeriod('credential_monthly', t)).toBe('2026-12');
    expect(budgetPeriod('tenant_monthly', t + 1)).toBe('2027-01');
    expect(budgetPeriod('vault_key_total', t)).toBe('total');
    expect(secondsUntilBudgetResets('tenant_monthly', Date.UTC(2027, 1, 28, 12))).toBe(12 * 3600);
    expect(secondsUntilBudgetResets('vault_key_total', t)).toBeNull();
  });

  it('ends each period at the first instant of the next one, and Retry-After points there', () => {
    fc.assert(
      fc.property(level.filter((l) => l !== 'vault_key_total'), instant, (l, now) => {
        const end = budgetPeriodEnd(l, now)!;
        const wait = secondsUntilBudgetResets(l, now)!;
        return (
          end > now &&
          end - now <= 31 * DAY_MS &&
          budgetPeriod(l, end - 1) === budgetPeriod(l, now) &&
          budgetPeriod(l, end) !== budgetPeriod(l, now) &&
          wait >= 1 &&
          wait * 1000 >= end - now &&
          (wait - 1) * 1000 < end - now
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('names each stored period back to its level', () => {
    fc.assert(
      fc.property(level, instant, (l, now) => {
        const subject = l === 'vault_key_total' ? 'vk_1' : l === 'tenant_monthly' ? 'ten_1' : 'cred_1';
        return levelOf(subject, budgetPeriod(l, now)) === l;
      }),
      { numRuns: RUNS },
    );
  });
});

describe('callBudgets', () => {
  const cap = fc.option(fc.bigInt({ min: 1n, max: 10n ** 15n }), { nil: null });
  it('lists a level exactly when it has a cap, in the order refusals are reported', () => {
    fc.assert(
      fc.property(cap, cap, cap, cap, instant, (total, cd, cm, tm, now) => {
        const b = callBudgets(
          { vaultKeyId: 'vk_1', credentialId: 'cred_1', tenantId: 'ten_1', totalCapNanos: total, credentialDailyCapNanos: cd, credentialMonthlyCapNanos: cm, tenantMonthlyCapNanos: tm },
          now,
        );
        const expected = ([['vault_key_total', total], ['credential_daily', cd], ['credential_monthly', cm], ['tenant_monthly', tm]] as const).filter(([, c]) => c !== null);
        return b.length === expected.length && b.every((x, i) => x.level === expected[i][0] && x.capNanos === expected[i][1] && x.period === budgetPeriod(x.level, now));
      }),
      { numRuns: RUNS },
    );
  });

  it('asks a vault key for a daily cap, a lifetime cap, or both', () => {
    expect(missingKeyCap(null, null)).toMatch(/daily_usd_cap, total_usd_cap/);
    expect(missingKeyCap(1n, null)).toBeNull();
    expect(missingKeyCap(null, 1n)).toBeNull();
  });
});

describe('firstBudgetRefusing', () => {
  it('admits a call only when it fits under every level, and then no level passes its cap', () => {
    const levels = fc.array(fc.record({ capNanos: fc.bigInt({ min: 0n, max: 1000n }), spentNanos: fc.bigInt({ min: 0n, max: 1000n }), reservedNanos: fc.bigInt({ min: 0n, max: 1000n }) }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(levels, fc.bigInt({ min: 1n, max: 500n }), (ls, amount) => {
        const i = firstBudgetRefusing(ls, amount);
        if (i === -1) return ls.every((l) => l.spentNanos + l.reservedNanos + amount <= l.capNanos);
        return ls[i].spentNanos + ls[i].reservedNanos + amount > ls[i].capNanos && ls.slice(0, i).every((l) => l.spentNanos + l.reservedNanos + amount <= l.capNanos);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('capMarksCrossed (credential.cap_threshold / cap_reached)', () => {
  it('fires each threshold and the cap once over any sequence of bookings, exactly when the spend passes them', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 11n }), { maxLength: 30 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 5 }),
        (cap, bookings, thresholds) => {
          const fired = new Map<string, number>();
          let spent = 0n;
          for (const b of bookings) {
            const c = capMarksCrossed(spent, spent + b, cap, thresholds);
            spent += b;
            for (const t of c.thresholds) fired.set(`t${t}`, (fired.get(`t${t}`) ?? 0) + 1);
            if (c.reached) fired.set('cap', (fired.get('cap') ?? 0) + 1);
          }
          const expected = new Set([...thresholds.filter((t) => spent >= (cap * BigInt(t)) / 100n && (cap * BigInt(t)) / 100n > 0n).map((t) => `t${t}`), ...(spent >= cap ? ['cap'] : [])]);
          return [...fired.values()].every((n) => n === 1) && new Set(fired.keys()).size === expected.size && [...expected].every((k) => fired.has(k));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/**
 * A model of the proxy's ledger for one call stream over several levels and instances: each
 * level is a spend row (`spent`, `reserved`) shared by the instances, each instance holds a
 * BudgetLease per level, grown by leaseGrant on the row; a call draws on its levels one after
 * the other and gives back what the earlier ones granted when one refuses (Budgets in the
 * proxy). Whatever the interleaving, no level's spent + reserved ever passes its cap, and once
 * everything is settled every level has booked exactly what its admitted calls cost.
 */
describe('budgets over several levels and instances (model)', () => {
  type Row = { cap: bigint; spent: bigint; reserved: bigint };
  const step = fc.record({
    instance: fc.integer({ min: 0, max: 2 }),
    levels: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
    amount: fc.bigInt({ min: 1n, max: 40n }),
    costShare: fc.integer({ min: 0, max: 100 }),
    finishNow: fc.boolean(),
  });

  it('never passes a cap at any level, and books each admitted call once per level', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 300n }), { minLength: 4, maxLength: 4 }), fc.array(step, { maxLength: 120 }), (caps, steps) => {
        const rows: Row[] = caps.map((cap) => ({ cap, spent: 0n, reserved: 0n }));
        const leases = [0, 1, 2].map(() => rows.map(() => new BudgetLease(0)));
        const costs = rows.map(() => 0n);
        const open: Array<{ instance: number; levels: number[]; amount: bigint; cost: bigint }> = [];
        const ok = () => rows.every((r) => r.spent + r.reserved <= r.cap && r.reserved >= 0n);
        const grow = (i: number, l: number, need: bigint) => {
          const lease = leases[i][l];
          const g = leaseGrant(rows[l].cap - rows[l].spent - rows[l].reserved, { min: need - lease.room, need: need - lease.room, want: need * 2n, unit: need });
          rows[l].reserved += g;
          lease.held += g;
        };
        const finish = (c: (typeof open)[number]) => {
          for (const l of c.levels) {
            const lease = leases[c.instance][l];
            lease.finish(c.amount, c.cost);
            // a flush: books the cost, gives the rest of the lease back
            const used = lease.takeUnsettled();
            rows[l].spent += used;
            rows[l].reserved -= used;
            costs[l] += used;
          }
        };
        for (const s of steps) {
          const drawn: number[] = [];
          let admitted = true;
          for (const l of s.levels) {
            const lease = leases[s.instance][l];
            if (lease.room < s.amount) grow(s.instance, l, s.amount);
            if (lease.room < s.amount) {
              admitted = false;
              break;
            }
            lease.draw(s.amount, 0);
            drawn.push(l);
          }
          if (!admitted) {
            for (const l of drawn) leases[s.instance][l].finish(s.amount, 0n);
          } else {
            const call = { instance: s.instance, levels: s.levels, amount: s.amount, cost: (s.amount * BigInt(s.costShare)) / 100n };
            if (s.finishNow) finish(call);
            else open.push(call);
          }
          if (!ok()) return false;
        }
        for (const c of open) finish(c);
        // every lease given back: reserved returns to 0 and spent is what the admitted calls cost
        for (const inst of leases) {
          inst.forEach((lease, l) => {
            rows[l].reserved -= lease.room;
            lease.held -= lease.room;
          });
        }
        return ok() && rows.every((r, l) => r.reserved === 0n && r.spent === costs[l] && r.spent <= r.cap);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('leaseGrant (the grow statement)', () => {
  it('never grants more than the room, and covers the calls waiting whenever the room does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -10n, max: 10_000n }), fc.bigInt({ min: 1n, max: 100n }), fc.bigInt({ min: 0n, max: 5_000n }), fc.bigInt({ min: 0n, max: 5_000n }), (room, unit, need, more) => {
        const min = need < unit ? need : unit;
        const g = leaseGrant(room, { min, need, want: need + more, unit });
        const r = room < 0n ? 0n : room;
        return g >= 0n && g <= r && (r < need || g >= need) && g <= need + more;
      }),
      { numRuns: RUNS },
    );
  });
});

it('knows every level', () => {
  const all: BudgetLevel[] = ['vault_key_total', 'credential_daily', 'credential_monthly', 'tenant_monthly'];
  expect([...BUDGET_LEVELS]).toEqual(all);
});
