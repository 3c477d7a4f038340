import { newId } from '@keyvault/crypto';
import { BudgetLease } from '@keyvault/policy';

/** Settled costs are booked, and unneeded lease money given back, this often. */
export const FLUSH_INTERVAL_MS = 100;
/** A lease nobody drew on for this long is given back whole. */
export const IDLE_RETURN_MS = 1_000;

/** What the ledger needs to know of what it spends on: a vault key's day, or a budget above it. */
export interface LedgerKey {
  /** one lease per id (and period) on an instance */
  id: string;
  tenantId: string;
  capNanos: bigint;
  /** the spend row's subject when it is not `id` (budgets: the key, profile or tenant id) */
  subjectId?: string;
}

/** Money held against one key's cap for one call, until the call settles. */
export class Reservation {
  /** its call's record was written before forwarding: its cost is booked once its outcome row is written too */
  awaitsOutcome = false;
  /** what the call cost once it ended, as its lease books it (0 on a lease reconciled meanwhile) */
  cost: bigint | null = null;
  booked = false;

  constructor(
    /** the lease the call drew on; null for a free call */
    readonly lease: Lease | null,
    readonly amountNanos: bigint,
  ) {}
}

export const FREE = new Reservation(null, 0n);

/** The arguments of a grow statement, kept to send it again (same sequence number) while its outcome is unknown. */
export interface GrowArgs {
  seq: number;
  /** the round the waiters it counted belong to */
  round: number;
  /** the lease's `finished` when it was sent */
  finished: number;
  min: bigint;
  need: bigint;
  want: bigint;
  unit: bigint;
}

/** A grow statement to send: `retry` when it is one whose outcome was unknown; `prefetchOnly` when no call waited for it. */
export interface Grow {
  args: GrowArgs;
  retry: boolean;
  prefetchOnly: boolean;
}

/** One lease's part of a settle statement, kept to send it again (same sequence number) while its outcome is unknown. */
export interface SettleEntry {
  lease: Lease;
  seq: number;
  used: bigint;
  released: bigint;
  close: boolean;
}

export interface Waiter {
  amount: bigint;
  /** the grow statement that counted this call in its need (0: none yet) */
  round: number;
  resolve(r: Reservation): void;
  reject(err: unknown): void;
}

/** This instance's lease on one key for one UTC day. */
export class Lease extends BudgetLease {
  readonly id = newId('spendLease');
  /** no row yet: its first grant inserts it */
  isNew = true;
  /** reconciled: nothing more is drawn on it or booked */
  dead = false;
  /** sequence numbers of the last grow and settle statements sent (see GROW_LEASE, SETTLE_LEASES) */
  growSeq = 0;
  settleSeq = 0;
  /** a grow statement whose outcome is unknown (the database went away): sent again before any other */
  unknownGrow: GrowArgs | null = null;
  /** a settle entry whose outcome is unknown: sent again, unchanged, before anything else is settled */
  unknownSettle: SettleEntry | null = null;
  /** the database may reconcile it after this (the book's clock): renewed by every statement */
  usableUntil = 0;
  lastRenewal = 0;
  /** no growing ahead of need before this (the book's clock) */
  prefetchAfter = 0;
  /** a grant came short: the room left goes back at the next flush */
  atCap = false;
  /**
   * Worst case less cost of the calls that ended but whose outcome row is not written yet: they
   * still count in flight at their worst case (a reconciliation would read them so), and this
   * much of it comes free when their outcomes are written. A call the cap cannot serve waits for
   * that rather than being refused.
   */
  awaitingSlack = 0n;
  /** calls finished on it so far: a grow answered after one more finished was asked for too much */
  finished = 0;
  growing: Promise<void> | null = null;
  rounds = 0;
  readonly waiters: Waiter[] = [];

  constructor(
    /** the latest caller's: a cap changed meanwhile (a profile's, a tenant's) counts from the next grow */
    public key: LedgerKey,
    /** the period its spend row is booked in (a UTC day for a vault key) */
    readonly day: string,
    now: number,
  ) {
    super(now);
  }
}

/**
 * The pure part of the spend ledger: this instance's leases and the decisions on them (draw,
 * what to ask a grow for and whom its grant serves, what to book and give back at a flush, what
 * an answer changes), with no database, no timer and a clock of its own (a fake one in tests).
 * SpendLedger makes the statements these decisions call for (lease-statements.ts).
 */
export class LeaseBook {
  /** today's lease per vault key */
  readonly leases = new Map<string, Lease>();
  /** leases of a past day, replaced, or with a settle entry whose outcome is unknown, still to be settled and closed */
  readonly retired = new Set<Lease>();

  constructor(
    readonly ttlMs: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** The key's lease for `day`, opening a new one when there is none, or it is dead or of another day. */
  leaseFor(key: LedgerKey, day: string): Lease {
    let lease = this.leases.get(key.id);
    if (lease && (lease.dead || lease.day !== day)) {
      if (!lease.dead) this.retired.add(lease);
      lease = undefined;
    }
    if (!lease) {
      lease = new Lease(key, day, this.now());
      this.leases.set(key.id, lease);
    } else if (lease.key.capNanos !== key.capNanos) {
      lease.key = key;
    }
    return lease;
  }

  /** Draws `amount` from the lease in memory when it can serve it now without a statement; null: wait for a grow. */
  draw(lease: Lease, amount: bigint): Reservation | null {
    const now = this.now();
    if (lease.waiters.length > 0 || now >= lease.usableUntil || lease.room < amount) return null;
    lease.draw(amount, now);
    return new Reservation(lease, amount);
  }

  /** Whether the lease should grow ahead of need now. */
  wantsPrefetch(lease: Lease): boolean {
    return lease.low && this.now() >= lease.prefetchAfter;
  }

  /**
   * The next grow statement for the lease: the one whose outcome is unknown, else one that
   * counts every call waiting now (null when none waits and the lease is not low).
   */
  nextGrow(lease: Lease): Grow | null {
    if (lease.unknownGrow) return { args: lease.unknownGrow, retry: true, prefetchOnly: false };
    const round = ++lease.rounds;
    let need = -lease.room;
    let min = 0n;
    let unit = lease.largestCall;
    for (const w of lease.waiters) {
      w.round = round;
      need += w.amount;
      if (w.amount > unit) unit = w.amount;
    }
    if (lease.waiters.length > 0) min = lease.waiters[0].amount - lease.room;
    if (need < 0n) need = 0n;
    if (min < 0n) min = 0n;
    if (lease.waiters.length === 0 && !lease.low) return null;
    // calls that ended but whose outcome is not written yet still hold their worst case: ask ahead for that too
    const want = need + lease.target() + lease.awaitingSlack;
    const args = { seq: ++lease.growSeq, round, finished: lease.finished, min, need, want, unit };
    // out: until its answer comes it is the lease's next grow statement, unchanged
    lease.unknownGrow = args;
    return { args, retry: false, prefetchOnly: lease.waiters.length === 0 };
  }

  /**
   * A grow statement answered with `granted`: the lease holds it, and the calls waiting are
   * served in arrival order; those the statement counted but could not cover are refused (the
   * cap is reached), the others wait for the next one. The answer to a statement sent again only
   * adds room (its calls were refused when it failed).
   */
  granted(lease: Lease, g: Grow, granted: bigint, sentAt: number): { served: Array<[Waiter, Reservation]>; refused: Waiter[]; awaitOutcomes?: boolean } {
    lease.unknownGrow = null;
    lease.held += granted;
    if (!lease.isNew) this.renewed(lease, sentAt);
    if (g.retry) return { served: [], refused: [] };
    // the cap has no room to prefetch: calls stop asking ahead until the next flush
    if (g.prefetchOnly && granted === 0n) lease.prefetchAfter = this.now() + FLUSH_INTERVAL_MS;
    // a call that finished meanwhile freed room the statement did not count: ask again before refusing
    const shortOfCap = granted < g.args.need && lease.finished === g.args.finished;
    // at the cap, what is left here is too small for this key's calls: given back at the next
    // flush, where it may add up with what other instances give back
    if (shortOfCap) lease.atCap = true;
    const now = this.now();
    const served: Array<[Waiter, Reservation]> = [];
    const refused: Waiter[] = [];
    for (const w of lease.waiters.splice(0)) {
      if (lease.room >= w.amount && now < lease.usableUntil) {
        lease.draw(w.amount, now);
        served.push([w, new Reservation(lease, w.amount)]);
      } else if (w.round === g.args.round && shortOfCap && lease.awaitingSlack === 0n) {
        refused.push(w);
      } else {
        lease.waiters.push(w);
      }
    }
    // at the cap but for outcomes not yet written: the calls left wait for them (`book`), not for another statement
    return { served, refused, awaitOutcomes: shortOfCap && lease.awaitingSlack > 0n };
  }

  /** A grow statement failed: it stays the lease's next one; the calls waiting are handed back to be refused. */
  growFailed(lease: Lease): Waiter[] {
    return lease.waiters.splice(0);
  }

  /** The lease was reconciled (its holder looked dead): its waiting calls are handed back, for a fresh lease. */
  gone(lease: Lease): Waiter[] {
    lease.dead = true;
    lease.unknownGrow = null;
    this.forget(lease);
    return lease.waiters.splice(0).map((w) => ({ ...w, round: 0 }));
  }

  /**
   * The call ended having cost `cost` (its real cost, even past what it reserved). A recorded
   * call stays in flight at its worst case until its outcome row is written (`book`): until then
   * a reconciliation would count it so. True when calls wait that the room it frees may serve.
   */
  settle(r: Reservation, cost: bigint): boolean {
    if (!r.lease || r.cost !== null) return false;
    // a dead lease was reconciled from its calls' rows: nothing more to book on it
    r.cost = r.lease.dead ? 0n : cost < 0n ? 0n : cost;
    if (!r.awaitsOutcome) return this.book(r);
    if (r.amountNanos > r.cost) r.lease.awaitingSlack += r.amountNanos - r.cost;
    return false;
  }

  /**
   * Makes a finished call's cost bookable at the next flush, once (its outcome row is written,
   * when it was recorded). True when calls wait on the lease that the room it frees may serve.
   */
  book(r: Reservation): boolean {
    const lease = r.lease;
    if (!lease || r.booked || r.cost === null) return false;
    r.booked = true;
    if (r.awaitsOutcome && r.amountNanos > r.cost) lease.awaitingSlack -= r.amountNanos - r.cost;
    lease.finish(r.amountNanos, r.cost);
    lease.finished++;
    return lease.waiters.length > 0;
  }

  /**
   * What one flush books and gives back, lease by lease (`final`: everything, at shutdown). An
   * entry whose outcome is unknown is sent again unchanged. Every entry returned is out until
   * `answered` (or stays the lease's next entry).
   */
  flushEntries(final: boolean, elapsedMs: number): SettleEntry[] {
    const now = this.now();
    const batch: SettleEntry[] = [];
    const seen = new Set<Lease>();
    const consider = (lease: Lease, retiring: boolean) => {
      if (seen.has(lease)) return;
      seen.add(lease);
      if (lease.unknownSettle) return void batch.push(lease.unknownSettle);
      if (lease.dead) return void this.forget(lease);
      lease.tick(elapsedMs);
      const busy = lease.growing !== null || lease.waiters.length > 0 || lease.unknownGrow !== null;
      if (lease.isNew) {
        // never granted anything: nothing to give back
        if (!busy && (retiring || now - lease.lastDrawAt >= IDLE_RETURN_MS)) this.forget(lease);
        return;
      }
      const idle = final || retiring || now - lease.lastDrawAt >= IDLE_RETURN_MS;
      const used = lease.unsettled;
      const room = lease.room;
      const released = busy || room <= 0n ? 0n : idle || lease.atCap ? room : lease.surplus();
      if (!busy) lease.atCap = false;
      const close = idle && !busy && lease.inFlight === 0n;
      const renew = now - lease.lastRenewal > this.ttlMs / 3;
      if (used === 0n && released === 0n && !close && !renew) return;
      lease.takeUnsettled();
      lease.held -= released;
      // a closing lease takes no more calls: the next call of the key opens a new one
      if (close) this.forget(lease);
      batch.push({ lease, seq: ++lease.settleSeq, used, released, close });
    };
    for (const lease of this.retired) consider(lease, true);
    for (const lease of this.leases.values()) consider(lease, final);
    for (const e of batch) {
      // out: until its answer comes it is the lease's next settle entry, unchanged
      e.lease.unknownSettle = e;
      if (e.close) this.retired.add(e.lease);
    }
    return batch;
  }

  /** A settle entry's answer came: `found` false means the lease row is gone (closed, or reconciled). */
  answered(e: SettleEntry, found: boolean, sentAt: number): void {
    e.lease.unknownSettle = null;
    if (e.close) this.retired.delete(e.lease);
    if (!found) {
      e.lease.dead = true;
      this.forget(e.lease);
    } else if (!e.close) {
      this.renewed(e.lease, sentAt);
    }
  }

  forget(lease: Lease): void {
    if (this.leases.get(lease.key.id) === lease) this.leases.delete(lease.key.id);
    if (!lease.unknownSettle) this.retired.delete(lease);
  }

  /** Every lease, for a clean shutdown: all retire and are given back at the next flushes. */
  retireAll(): void {
    for (const lease of this.leases.values()) this.retired.add(lease);
    this.leases.clear();
  }

  private renewed(lease: Lease, sentAt: number): void {
    // the row expires TTL after the latest statement ran, which was after it was sent (durations
    // only: the database's clock is never compared with this one); stop drawing a little earlier
    // still, so no call draws on a lease that may be reconciled
    lease.lastRenewal = Math.max(lease.lastRenewal, sentAt);
    lease.usableUntil = lease.lastRenewal + this.ttlMs * 0.9;
  }
}
