import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'node:os';
import type { ProxyConfig } from '@keyvault/config';
import { newId, randomChars } from '@keyvault/crypto';
import { enqueueSpendEvents } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { BudgetLease, LEASE_PREFETCH_DIVISOR, secondsUntilUtcMidnight, utcDay } from '@keyvault/policy';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';
import { GROW_LEASE, RECONCILE_LEASES, SETTLE_LEASES } from './lease-statements';

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

/** What the ledger needs to know of a vault key. */
export interface LedgerKey {
  id: string;
  tenantId: string;
  capNanos: bigint;
}

/** Settled costs are booked, and unneeded lease money given back, this often. */
const FLUSH_INTERVAL_MS = 100;
/** A lease nobody drew on for this long is given back whole. */
const IDLE_RETURN_MS = 1_000;
const FREE = new Reservation(null, 0n);
const DAY_MS = 86_400_000;

/** The arguments of a grow statement, kept to send it again (same sequence number) while its outcome is unknown. */
interface GrowArgs {
  seq: number;
  min: bigint;
  need: bigint;
  want: bigint;
  unit: bigint;
}

/** One lease's part of a settle statement, kept to send it again (same sequence number) while its outcome is unknown. */
interface SettleEntry {
  lease: Lease;
  seq: number;
  used: bigint;
  released: bigint;
  close: boolean;
}

interface Waiter {
  amount: bigint;
  /** the grow statement that counted this call in its need (0: none yet) */
  round: number;
  resolve(r: Reservation): void;
  reject(err: unknown): void;
}

/** This instance's lease on one key for one UTC day. */
class Lease extends BudgetLease {
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
  /** the database may reconcile it after this (performance.now() clock): renewed by every statement */
  usableUntil = 0;
  lastRenewal = 0;
  /** no growing ahead of need before this (performance.now() clock) */
  prefetchAfter = 0;
  /** a grant came short: the room left goes back at the next flush */
  atCap = false;
  growing: Promise<void> | null = null;
  rounds = 0;
  readonly waiters: Waiter[] = [];

  constructor(
    readonly key: LedgerKey,
    readonly day: string,
    now: number,
  ) {
    super(now);
  }
}

/**
 * A vault key's spend per UTC day (vault_key_spend), shared by every proxy instance through the
 * database, spent through budget leases (BudgetLease in libs/policy):
 *
 * - `reserve` draws a call's worst case from this instance's lease on the key, in memory. When
 *   the lease is short, the calls wait for one GROW_LEASE statement (one per lease at a time,
 *   for all the calls waiting), which carves more from `cap - spent - reserved` atomically: the
 *   leases of all instances together never pass the cap. A lease also grows ahead of need when
 *   its room runs low, so a steady stream of calls never waits.
 * - `settle` notes what the call cost (its real cost, even past what it reserved: counted in
 *   keyvault_proxy_cost_overruns_total); a recorded call's cost becomes bookable once its
 *   outcome row is written (`book`). Every FLUSH_INTERVAL_MS, SETTLE_LEASES books the costs of
 *   all leases in one statement (spent += actual, reserved -= actual), gives back what a lease
 *   does not need (idle, or beyond its target), renews them, and enqueues the cap webhook events
 *   when a booking crosses a threshold. A clean shutdown books and gives back everything.
 *
 * Every grow and settle statement carries a per-lease sequence number and is idempotent: when
 * its outcome is unknown (the database went away mid-statement) it is sent again, unchanged,
 * until an answer comes. Meanwhile the lease keeps serving from what it holds until its renewal
 * runs out; nothing is written off.
 *
 * Crashes. A lease lives in spend_reservations with this instance's id, and its amount stays in
 * reserved_nanos until booked or given back, so a crash never frees money that calls may have
 * spent. Every call that draws on a lease is recorded (CallRecorder) before it is forwarded,
 * with the lease and its worst case. So a lease of a dead instance is settled from its calls'
 * rows (RECONCILE_LEASES): the cost of each finished call, the worst case of each call still in
 * flight (its row is marked `interrupted`), less what the lease booked already; the room nobody
 * used goes back. Nothing is counted twice: booking shrinks the lease row in the same statement
 * as vault_key_spend, a lease reconciled is deleted in the same statement that books it, and its
 * holder, if it was only slow, finds the row gone and books nothing more on it (its calls' rows
 * keep saying `interrupted`). Reconciliation happens when an instance starts under the same
 * KEYVAULT_INSTANCE_ID (its old leases), and on every instance every half TTL (any lease past
 * its expiry: the holder renews it while alive).
 */
@Injectable()
export class SpendLedger implements OnModuleDestroy {
  private readonly logger = new Logger('SpendLedger');
  readonly instanceId: string;
  private readonly ttlMs: number;
  /** today's lease per vault key */
  private readonly leases = new Map<string, Lease>();
  /** leases of a past day, replaced, or with a statement whose outcome is unknown, still to be settled and closed */
  private readonly retired = new Set<Lease>();
  private day = '';
  private dayEndsAt = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastFlush = performance.now();
  private lastErrorLog = 0;
  private lastOverrunLog = 0;

  constructor(
    private readonly store: ProxyStore,
    private readonly metrics: ProxyMetrics,
    @Inject(PROXY_CONFIG) config: ProxyConfig,
  ) {
    this.instanceId = config.KEYVAULT_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomChars(6)}`;
    this.ttlMs = config.KEYVAULT_LEASE_TTL_MS;
  }

  /**
   * Reconciles what an earlier life of this instance id left (see the class comment), then
   * starts flushing and reconciling. Throws when the database is unreachable.
   */
  async start(): Promise<void> {
    await this.reconcile(this.instanceId);
    this.flushTimer = setInterval(() => void this.flush(false), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.scheduleReconcile();
  }

  /** Holds `amountNanos` or throws 429 daily_cap_exceeded (Retry-After: the next UTC midnight) / 503. */
  async reserve(key: LedgerKey, amountNanos: bigint): Promise<Reservation> {
    if (amountNanos === 0n) return FREE;
    const lease = this.leaseFor(key);
    const now = performance.now();
    if (lease.waiters.length === 0 && now < lease.usableUntil && lease.room >= amountNanos) {
      lease.draw(amountNanos, now);
      if (lease.low && now >= lease.prefetchAfter) this.grow(lease);
      return new Reservation(lease, amountNanos);
    }
    this.metrics.leaseWaits.inc();
    return new Promise((resolve, reject) => {
      lease.waiters.push({ amount: amountNanos, round: 0, resolve, reject });
      this.grow(lease);
    });
  }

  /**
   * The call's record is being written: its cost is booked only once its outcome row is written
   * too (`book`), so a lease never books a call whose row still says it is in flight.
   */
  awaitOutcome(r: Reservation): void {
    if (r.lease) r.awaitsOutcome = true;
  }

  /**
   * The call ended having cost `actualNanos` (0n releases it all): booked at the next flush, or
   * once its outcome row is written when it was recorded. The real cost is booked even past the
   * reservation (an overrun, counted); the key is then over its cap and refuses further calls.
   */
  settle(r: Reservation, actualNanos: bigint): void {
    if (!r.lease || r.cost !== null) return;
    const cost = actualNanos < 0n ? 0n : actualNanos;
    if (cost > r.amountNanos) this.overrun(r, cost);
    // a dead lease was reconciled from its calls' rows: nothing more to book on it
    r.cost = r.lease.dead ? 0n : cost;
    // the room beyond its cost is free at once; the cost is booked once the outcome row is written
    if (r.awaitsOutcome) r.lease.finishAwaiting(r.amountNanos, r.cost);
    else this.book(r);
  }

  /** Makes a finished call's cost bookable at the next flush, once (its outcome row is written, when it was recorded). */
  book(r: Reservation): void {
    if (!r.lease || r.booked || r.cost === null) return;
    r.booked = true;
    if (r.awaitsOutcome) r.lease.written(r.cost);
    else r.lease.finish(r.amountNanos, r.cost);
  }

  /**
   * Books everything and gives back every lease (a clean shutdown; calls in flight have ended
   * and their outcomes were written). What cannot be written stays counted as reserved until a
   * reconciliation settles it from the calls' rows.
   */
  async close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.flushTimer = this.reconcileTimer = null;
    for (const lease of this.leases.values()) this.retired.add(lease);
    this.leases.clear();
    for (let attempt = 0; attempt < 5 && this.retired.size > 0; attempt++) {
      await Promise.all([...this.retired].map((l) => l.growing));
      await this.flush(true);
    }
    if (this.retired.size > 0) this.logger.error({ leases: this.retired.size }, 'leases not given back at shutdown: they are reconciled after they expire');
  }

  onModuleDestroy(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
  }

  private overrun(r: Reservation, cost: bigint): void {
    this.metrics.costOverruns.inc();
    const now = Date.now();
    if (now - this.lastOverrunLog < 5_000) return;
    this.lastOverrunLog = now;
    this.logger.warn(
      { event: 'cost_overrun', vault_key_id: r.lease!.key.id, reserved_nanos: r.amountNanos.toString(), cost_nanos: cost.toString() },
      'a call cost more than the worst case reserved for it: booked at its real cost',
    );
  }

  private leaseFor(key: LedgerKey): Lease {
    const now = Date.now();
    if (now >= this.dayEndsAt) {
      this.day = utcDay(now);
      this.dayEndsAt = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    }
    let lease = this.leases.get(key.id);
    if (lease && (lease.dead || lease.day !== this.day)) {
      if (!lease.dead) this.retired.add(lease);
      lease = undefined;
    }
    if (!lease) {
      lease = new Lease(key, this.day, performance.now());
      this.leases.set(key.id, lease);
    }
    return lease;
  }

  /** Starts growing the lease unless a statement for it is already out. */
  private grow(lease: Lease): void {
    lease.growing ??= this.growLoop(lease).finally(() => {
      lease.growing = null;
    });
  }

  /**
   * One GROW_LEASE at a time per lease, until no call waits: each counts every call waiting at
   * the time it is sent, serves them in arrival order when it returns, and refuses those it
   * counted but could not cover (the cap is reached). Calls that came meanwhile get another.
   * A statement whose outcome is unknown refuses its calls (503) and is sent again, first, the
   * next time the lease grows (or at the next flush).
   */
  private async growLoop(lease: Lease): Promise<void> {
    for (;;) {
      let args = lease.unknownGrow;
      const retry = args !== null;
      let round = lease.rounds;
      if (!args) {
        round = ++lease.rounds;
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
        if (lease.waiters.length === 0 && !lease.low) return;
        args = { seq: ++lease.growSeq, min, need, want: need + lease.target(), unit };
      }
      const prefetchOnly = !retry && lease.waiters.length === 0;

      let granted: bigint;
      const sentAt = performance.now();
      try {
        lease.unknownGrow = args;
        const result = await this.growStatement(lease, args);
        lease.unknownGrow = null;
        if (result === 'gone') return this.moveWaiters(lease);
        granted = result;
      } catch (err) {
        for (const w of lease.waiters.splice(0)) w.reject(err);
        return;
      }
      lease.held += granted;
      if (!lease.isNew) this.renewed(lease, sentAt);
      if (retry) {
        // the answer to an earlier statement: its calls were refused; what it granted is room now
        if (lease.waiters.length === 0) return;
        continue;
      }
      // the cap has no room to prefetch: calls stop asking ahead until the next flush
      if (prefetchOnly && granted === 0n) lease.prefetchAfter = performance.now() + FLUSH_INTERVAL_MS;

      const shortOfCap = granted < args.need;
      // at the cap, what is left here is too small for this key's calls: given back at the next
      // flush, where it may add up with what other instances give back
      if (shortOfCap) lease.atCap = true;
      const now = performance.now();
      const waiting = lease.waiters.splice(0);
      for (const w of waiting) {
        if (lease.room >= w.amount && now < lease.usableUntil) {
          lease.draw(w.amount, now);
          w.resolve(new Reservation(lease, w.amount));
        } else if (w.round === round && shortOfCap) {
          w.reject(capExceeded());
        } else {
          lease.waiters.push(w);
        }
      }
      if (lease.waiters.length === 0) return;
    }
  }

  /** The granted amount, or 'gone' when the lease was reconciled meanwhile. */
  private async growStatement(lease: Lease, a: GrowArgs): Promise<bigint | 'gone'> {
    const { key } = lease;
    for (let attempt = 1; ; attempt++) {
      const [row] = await this.store.query<{ spend_row: boolean; lease_row: boolean; granted: string }>('spend_lease_grow', GROW_LEASE, [
        lease.id, key.id, lease.day, lease.isNew, key.capNanos.toString(), a.min.toString(), a.need.toString(), a.want.toString(),
        LEASE_PREFETCH_DIVISOR.toString(), key.tenantId, this.instanceId, this.ttlMs, a.unit.toString(), a.seq,
      ]);
      if (!lease.isNew && !(row.lease_row && row.spend_row)) return 'gone';
      if (row.spend_row) {
        const granted = BigInt(row.granted);
        if (granted > 0n) lease.isNew = false;
        return granted;
      }
      // another instance inserted the key's first spend row of the day at the same moment: it is there now
      if (attempt === 3) throw new KeyvaultError('vault_unavailable', 'The spend ledger could not book this call.');
    }
  }

  /** The lease was reconciled (its holder looked dead): its waiting calls go to a fresh one. */
  private moveWaiters(lease: Lease): void {
    lease.dead = true;
    this.forget(lease);
    const waiting = lease.waiters.splice(0);
    if (waiting.length === 0) return;
    const fresh = this.leaseFor(lease.key);
    for (const w of waiting) fresh.waiters.push({ ...w, round: 0 });
    this.grow(fresh);
  }

  private renewed(lease: Lease, sentAt: number): void {
    // the row expires TTL after the latest statement ran, which was after it was sent (durations
    // only: the database's clock is never compared with this one); stop drawing a little earlier
    // still, so no call draws on a lease that may be reconciled
    lease.lastRenewal = Math.max(lease.lastRenewal, sentAt);
    lease.usableUntil = lease.lastRenewal + this.ttlMs * 0.9;
  }

  /**
   * Books the settled costs of every lease, gives back what leases do not need (all of it when
   * idle or `final`), renews them, and closes the empty ones: one statement for all, plus one
   * transaction per lease whose booking crosses a percent mark of its cap (for the webhooks).
   * An entry whose outcome is unknown is sent again, unchanged, at the next flush.
   */
  private flush(final: boolean): Promise<void> {
    this.flushing ??= this.flushOnce(final)
      .catch((err: unknown) => this.logError('flush', err))
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  private async flushOnce(final: boolean): Promise<void> {
    const now = performance.now();
    const elapsed = now - this.lastFlush;
    this.lastFlush = now;
    const batch: SettleEntry[] = [];
    const seen = new Set<Lease>();
    const consider = (lease: Lease, retiring: boolean) => {
      if (seen.has(lease)) return;
      seen.add(lease);
      if (lease.dead && !lease.unknownSettle) return void this.forget(lease);
      if (lease.unknownSettle) return void batch.push(lease.unknownSettle);
      lease.tick(elapsed);
      // a grow whose outcome is unknown is asked again even when no call waits
      if (lease.unknownGrow && !lease.growing) this.grow(lease);
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
      const close = idle && !busy && lease.inFlight === 0n && lease.awaiting === 0n;
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
    if (batch.length === 0) return;

    const sentAt = performance.now();
    const params = (quietOnly: boolean, entries: SettleEntry[]) => [
      entries.map((e) => e.lease.id), entries.map((e) => e.lease.key.id), entries.map((e) => e.lease.day),
      entries.map((e) => e.lease.key.capNanos.toString()), entries.map((e) => e.used.toString()),
      entries.map((e) => e.released.toString()), entries.map((e) => e.close), quietOnly, this.ttlMs, entries.map((e) => e.seq),
    ];
    type Row = { lease_id: string; found: boolean; applied: boolean; after: string | null; booked: string | null };
    for (const e of batch) this.unknown(e);
    const rows = await this.store.queryPrepared<Row>('spend_settle', SETTLE_LEASES, params(true, batch));
    const byId = new Map(rows.map((r) => [r.lease_id, r]));
    for (const e of batch) {
      const row = byId.get(e.lease.id)!;
      if (!row.found) {
        // closed, or reconciled meanwhile (this instance looked dead): what it booked there is counted
        this.known(e);
        e.lease.dead = true;
        this.forget(e.lease);
      } else if (!row.applied) {
        await this.settleCrossing(e, params(false, [e]));
      } else {
        this.known(e);
        if (!e.close) this.renewed(e.lease, sentAt);
      }
    }
  }

  /** A booking that crosses a percent mark: settled in a transaction that enqueues the cap webhooks. */
  private async settleCrossing(e: SettleEntry, params: unknown[]): Promise<void> {
    const sentAt = performance.now();
    try {
      await this.store.transaction('spend_settle_events', async (m) => {
        const [row]: Array<{ found: boolean; after: string | null; booked: string | null }> = await m.query(SETTLE_LEASES, params);
        if (!row?.found || row.after === null || row.booked === null) return;
        const after = BigInt(row.after);
        const { key, day } = e.lease;
        await enqueueSpendEvents(m, { tenantId: key.tenantId, vaultKeyId: key.id, day, before: after - BigInt(row.booked), after, cap: key.capNanos });
      });
      this.known(e);
      if (!e.close) this.renewed(e.lease, sentAt);
    } catch (err) {
      this.logError('settle', err);
    }
  }

  /** The entry is out: until its answer comes it is the lease's next settle entry, unchanged. */
  private unknown(e: SettleEntry): void {
    e.lease.unknownSettle = e;
    if (e.close) this.retired.add(e.lease);
  }

  private known(e: SettleEntry): void {
    e.lease.unknownSettle = null;
    if (e.close) this.retired.delete(e.lease);
  }

  private forget(lease: Lease): void {
    if (this.leases.get(lease.key.id) === lease) this.leases.delete(lease.key.id);
    if (!lease.unknownSettle) this.retired.delete(lease);
  }

  private scheduleReconcile(): void {
    // every instance looks every half TTL, at jittered times so they rarely collide
    const delay = (this.ttlMs / 2) * (0.75 + Math.random() / 2);
    this.reconcileTimer = setTimeout(() => {
      this.reconcile(null)
        .catch((err: unknown) => this.logError('reconcile', err))
        .finally(() => this.reconcileTimer !== null && this.scheduleReconcile());
    }, delay);
    this.reconcileTimer.unref();
  }

  /** Settles leases of dead holders from their calls' rows (see the class comment). */
  private async reconcile(instanceId: string | null): Promise<void> {
    const booked = await this.store.transaction('spend_reconcile', async (m) => {
      const rows: Array<{ vault_key_id: string; day: string; tenant_id: string; after: string; amount: string; cap: string }> = await m.query(
        RECONCILE_LEASES,
        [instanceId],
      );
      for (const r of rows) {
        const after = BigInt(r.after);
        await enqueueSpendEvents(m, { tenantId: r.tenant_id, vaultKeyId: r.vault_key_id, day: r.day, before: after - BigInt(r.amount), after, cap: BigInt(r.cap) });
      }
      return rows.length;
    });
    if (booked > 0) this.logger.warn({ keys: booked, instance_id: instanceId ?? undefined }, "leases of dead holders settled from their calls' records");
  }

  private logError(what: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5_000) return;
    this.lastErrorLog = now;
    this.logger.warn({ err: { message: (err as Error)?.message } }, `spend ${what} failed; it is retried and what it held stays counted`);
  }
}

const capExceeded = () =>
  new KeyvaultError('daily_cap_exceeded', "This call would pass the vault key's daily USD cap.").withHeaders({
    'Retry-After': String(secondsUntilUtcMidnight()),
  });
