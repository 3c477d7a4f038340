import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEASE_PREFETCH_DIVISOR } from '@keyvault/policy';
import { LeaseBook, type Lease, type LedgerKey, type Reservation, type SettleEntry } from './lease-book';

/**
 * The lease state machine against a model of the database that applies GROW_LEASE,
 * SETTLE_LEASES and RECONCILE_LEASES as lease-statements.ts writes them (sequence numbers
 * included), under thousands of random interleavings of calls, grants, flushes, outages (a
 * statement lost before or after it applied) and crashes (an instance gone, its leases
 * reconciled from its calls' records), on a fake clock.
 */

const CAP = 1_000n;
const KEY: LedgerKey = { id: 'vk_1', tenantId: 'ten_1', capNanos: CAP };
const DAY = '2026-12-07';
const TTL = 30_000;

interface Row { amount: bigint; booked: bigint; growSeq: number; settleSeq: number; lastGranted: bigint }
interface Record { leaseId: string; reserved: bigint; cost: bigint | null; interrupted: boolean }

/** vault_key_spend of one key, its spend_reservations rows, and its audit rows (the calls' records). */
class Db {
  spent = 0n;
  reserved = 0n;
  readonly rows = new Map<string, Row>();
  readonly records: Record[] = [];

  grow(lease: Lease, a: { seq: number; min: bigint; need: bigint; want: bigint; unit: bigint }): { leaseRow: boolean; granted: bigint } {
    const row = this.rows.get(lease.id);
    if (row && row.growSeq >= a.seq) return { leaseRow: true, granted: row.lastGranted };
    if (!lease.isNew && !row) return { leaseRow: false, granted: 0n };
    let room = CAP - this.spent - this.reserved;
    if (room < 0n) room = 0n;
    let granted: bigint;
    if (room < a.min) granted = 0n;
    else if (room < a.need) granted = room;
    else {
      let extra = (room - a.need) / LEASE_PREFETCH_DIVISOR;
      if (extra > a.want - a.need) extra = a.want - a.need;
      if (extra < 0n) extra = 0n;
      granted = a.need + extra - (extra % a.unit);
    }
    this.reserved += granted;
    if (row) Object.assign(row, { amount: row.amount + granted, growSeq: a.seq, lastGranted: granted });
    else if (granted > 0n) this.rows.set(lease.id, { amount: granted, booked: 0n, growSeq: a.seq, settleSeq: 0, lastGranted: granted });
    return { leaseRow: !!row || granted > 0n, granted };
  }

  settle(e: SettleEntry): { found: boolean } {
    const row = this.rows.get(e.lease.id);
    if (!row) return { found: false };
    if (row.settleSeq >= e.seq) return { found: true };
    const freed = e.close ? row.amount : row.amount < e.used + e.released ? row.amount : e.used + e.released;
    this.spent += e.used;
    this.reserved -= freed;
    if (e.close) this.rows.delete(e.lease.id);
    else Object.assign(row, { amount: row.amount - freed, booked: row.booked + e.used, settleSeq: e.seq });
    return { found: true };
  }

  reconcile(leaseIds: string[]): void {
    for (const id of leaseIds) {
      const row = this.rows.get(id);
      if (!row) continue;
      let calls = 0n;
      for (const r of this.records) if (r.leaseId === id) calls += r.cost ?? r.reserved;
      let add = calls - row.booked;
      if (add < 0n) add = 0n;
      this.spent += add;
      this.reserved -= row.amount;
      for (const r of this.records) {
        if (r.leaseId === id && r.cost === null) Object.assign(r, { cost: r.reserved, interrupted: true });
      }
      this.rows.delete(id);
    }
  }
}

interface Call { book: number; amount: bigint; cost: bigint; state: 'waiting' | 'refused' | 'drawn' | 'finished' | 'written'; r?: Reservation; record?: Record }

/** One proxy instance: its book on the fake clock, and what SpendLedger would do around it. */
class Instance {
  readonly book: LeaseBook;
  readonly leases = new Set<Lease>();
  constructor(readonly clock: { t: number }) {
    this.book = new LeaseBook(TTL, () => clock.t);
  }
}

type Fault = 'none' | 'before' | 'after';
type Op =
  | { kind: 'call'; inst: number; amount: number; costPct: number }
  | { kind: 'grow'; inst: number; fault: Fault }
  | { kind: 'finish'; pick: number }
  | { kind: 'outcome'; pick: number }
  | { kind: 'flush'; inst: number; fault: Fault }
  | { kind: 'crash'; inst: number }
  | { kind: 'tick'; ms: number };

const fault = fc.constantFrom<Fault>('none', 'none', 'none', 'before', 'after');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('call' as const), inst: fc.nat(1), amount: fc.integer({ min: 1, max: 120 }), costPct: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('grow' as const), inst: fc.nat(1), fault }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('outcome' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flush' as const), inst: fc.nat(1), fault }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), inst: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 2_000 }) }) },
);

export const STATS = { entries: 0, used: 0, after: 0, drawn: 0, ops: 0, calls: 0, grows: 0, flushes: 0 };
function simulate(ops: Op[]) {
  const clock = { t: 0 };
  const db = new Db();
  const instances = [new Instance(clock), new Instance(clock)];
  const calls: Call[] = [];
  const pickOf = (state: Call['state'], pick: number) => {
    const c = calls.filter((x) => x.state === state && instances[x.book] !== undefined);
    return c.length ? c[pick % c.length] : undefined;
  };
  const drawn = (call: Call, r: Reservation) => {
    STATS.drawn++;
    call.state = 'drawn';
    call.r = r;
    r.awaitsOutcome = true;
    call.record = { leaseId: r.lease!.id, reserved: r.amountNanos, cost: null, interrupted: false };
    db.records.push(call.record);
  };
  const growOnce = (inst: Instance, lease: Lease, fault: Fault) => {
    const g = inst.book.nextGrow(lease);
    if (!g) return;
    const sentAt = clock.t;
    if (fault === 'before') return void inst.book.growFailed(lease).forEach((w) => w.reject(new Error('outage')));
    const answer = db.grow(lease, g.args);
    if (fault === 'after') return void inst.book.growFailed(lease).forEach((w) => w.reject(new Error('outage')));
    if (!lease.isNew && !answer.leaseRow) {
      for (const w of inst.book.gone(lease)) w.reject(new Error('moved'));
      return;
    }
    if (answer.granted > 0n) lease.isNew = false;
    const { served, refused } = inst.book.granted(lease, g, answer.granted, sentAt);
    for (const [w, r] of served) w.resolve(r);
    for (const w of refused) w.reject(new Error('cap'));
  };
  const flushOnce = (inst: Instance, fault: Fault, final = false) => {
    const batch = inst.book.flushEntries(final, 100);
    STATS.entries += batch.length;
    STATS.used += batch.filter((e) => e.used > 0n).length;
    if (fault === 'after') STATS.after += batch.length;
    const sentAt = clock.t;
    if (fault === 'before') return;
    const answers = batch.map((e) => db.settle(e));
    if (fault === 'after') return;
    batch.forEach((e, i) => inst.book.answered(e, answers[i].found, sentAt));
  };

  for (const o of ops) {
    STATS.ops++;
    if (o.kind === 'call') STATS.calls++;
    if (o.kind === 'grow') STATS.grows++;
    if (o.kind === 'flush') STATS.flushes++;
    if (o.kind === 'tick') clock.t += o.ms;
    else if (o.kind === 'call') {
      const inst = instances[o.inst];
      const amount = BigInt(o.amount);
      const call: Call = { book: o.inst, amount, cost: (amount * BigInt(o.costPct)) / 100n, state: 'waiting' };
      calls.push(call);
      const lease = inst.book.leaseFor(KEY, DAY);
      inst.leases.add(lease);
      const r = inst.book.draw(lease, amount);
      if (r) drawn(call, r);
      else lease.waiters.push({ amount, round: 0, resolve: (x) => drawn(call, x), reject: () => void (call.state = 'refused') });
    } else if (o.kind === 'grow') {
      const inst = instances[o.inst];
      const lease = inst.book.leases.get(KEY.id);
      if (lease) growOnce(inst, lease, o.fault);
    } else if (o.kind === 'finish') {
      const call = pickOf('drawn', o.pick);
      if (call) {
        call.state = 'finished';
        instances[call.book].book.settle(call.r!, call.cost);
      }
    } else if (o.kind === 'outcome') {
      const call = pickOf('finished', o.pick);
      if (call) {
        call.state = 'written';
        // a late outcome leaves an interrupted row as it is (WRITE_OUTCOMES)
        if (!call.record!.interrupted) call.record!.cost = call.r!.cost;
        instances[call.book].book.book(call.r!);
      }
    } else if (o.kind === 'flush') flushOnce(instances[o.inst], o.fault);
    else if (o.kind === 'crash') {
      const dead = instances[o.inst];
      db.reconcile([...dead.leases].map((l) => l.id));
      for (const c of calls) if (c.book === o.inst && c.state !== 'written') c.state = 'refused';
      instances[o.inst] = new Instance(clock);
      for (const c of calls) if (c.book === o.inst) c.book = -1;
    }
    // the cap holds at every step, whatever the interleaving
    expect(db.spent + db.reserved).toBeLessThanOrEqual(CAP);
    expect(db.reserved).toBeGreaterThanOrEqual(0n);
  }

  // the end of the day: every call ends, its outcome is written, every lease is given back
  for (const call of calls) {
    if (call.book < 0 || call.state === 'refused' || call.state === 'waiting') continue;
    const book = instances[call.book].book;
    if (call.state === 'drawn') book.settle(call.r!, call.cost);
    if (call.state !== 'written') {
      if (!call.record!.interrupted) call.record!.cost = call.r!.cost;
      book.book(call.r!);
    }
  }
  for (const inst of instances) {
    for (const lease of inst.book.leases.values()) for (const w of lease.waiters.splice(0)) w.reject(new Error('end'));
    inst.book.retireAll();
    for (let i = 0; i < 5; i++) {
      for (const lease of [...inst.book.retired]) if (lease.unknownGrow) growOnce(inst, lease, 'none');
      flushOnce(inst, 'none', true);
    }
    expect(inst.book.retired.size).toBe(0);
  }
  return { db };
}

describe('LeaseBook', () => {
  it('never lets spend pass the cap, and books exactly the sum of the calls, under random interleavings with outages and crashes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
        const { db } = simulate(ops);
        expect(db.reserved).toBe(0n);
        expect(db.rows.size).toBe(0);
        const recorded = db.records.reduce((s, r) => s + (r.cost ?? 0n), 0n);
        expect(db.spent).toBeLessThanOrEqual(CAP);
        expect(db.spent).toBe(recorded);
      }),
      { numRuns: 2_000 },
    );
  });

  it('serves a call from the room it holds without asking, and stops drawing when its renewal runs out (fake clock)', () => {
    const clock = { t: 0 };
    const book = new LeaseBook(TTL, () => clock.t);
    const lease = book.leaseFor(KEY, DAY);
    expect(book.draw(lease, 10n)).toBeNull();
    lease.waiters.push({ amount: 10n, round: 0, resolve: () => undefined, reject: () => undefined });
    const g = book.nextGrow(lease)!;
    lease.isNew = false;
    const { served } = book.granted(lease, g, 100n, clock.t);
    expect(served).toHaveLength(1);
    expect(book.draw(lease, 10n)).not.toBeNull();
    clock.t += TTL * 0.9;
    expect(book.draw(lease, 10n)).toBeNull();
  });
});
