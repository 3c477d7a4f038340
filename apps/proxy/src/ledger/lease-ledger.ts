import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { KeyvaultError } from '@keyvault/errors';
import { LEASE_PREFETCH_DIVISOR } from '@keyvault/policy';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';
import { FLUSH_INTERVAL_MS, FREE, LeaseBook, Reservation, type Grow, type LedgerKey, type Lease, type SettleEntry } from './lease-book';
import { leaseStatements, type LedgerTables } from './lease-statements';

export { Reservation, type LedgerKey } from './lease-book';

/** A booking of one spend row, for the webhook events it may fire. */
export interface Booking {
  tenantId: string;
  subjectId: string;
  period: string;
  before: bigint;
  after: bigint;
  /** the row's cap; null when it has none (a key with no daily cap, a lifetime or tenant budget) */
  cap: bigint | null;
}

/** The names its statements are counted (and prepared) under, in keyvault_proxy_db_queries_total{op}. */
export interface LedgerOps {
  grow: string;
  settle: string;
  settleEvents: string;
  reconcile: string;
}

/**
 * A spend ledger spent through budget leases (BudgetLease in libs/policy): a vault key's UTC day
 * (SpendLedger: vault_key_spend), or the budgets above it (BudgetLedger: budget_spend). Told here
 * on the vault key's day; the budgets are the same machinery on their own rows. Shared by every
 * proxy instance through the database:
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
export abstract class LeaseLedger implements OnModuleDestroy {
  protected readonly logger: Logger;
  private readonly ttlMs: number;
  private readonly book_: LeaseBook;
  private readonly statements: { grow: string; settle: string; reconcile: string };
  private flushTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastFlush = performance.now();
  private lastErrorLog = 0;
  private lastOverrunLog = 0;

  constructor(
    private readonly store: ProxyStore,
    private readonly metrics: ProxyMetrics,
    readonly instanceId: string,
    ttlMs: number,
    tables: LedgerTables,
    private readonly ops: LedgerOps,
  ) {
    this.logger = new Logger(this.constructor.name);
    this.ttlMs = ttlMs;
    this.book_ = new LeaseBook(this.ttlMs);
    this.statements = leaseStatements(tables);
  }

  /** The period the key's spend is booked in now (a UTC day, a month, a key's life). */
  protected abstract periodOf(key: LedgerKey): string;
  /** The refusal of a call the key's cap cannot serve (429, with Retry-After when it resets). */
  protected abstract refusal(key: LedgerKey): KeyvaultError;
  /** Enqueues the webhook events a booking fires, in its transaction. */
  protected abstract events(m: EntityManager, b: Booking): Promise<void>;

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

  /** Holds `amountNanos` or throws the ledger's 429 (`refusal`) / 503. */
  async reserve(key: LedgerKey, amountNanos: bigint): Promise<Reservation> {
    if (amountNanos === 0n) return FREE;
    const lease = this.leaseFor(key);
    const drawn = this.book_.draw(lease, amountNanos);
    if (drawn) {
      if (this.book_.wantsPrefetch(lease)) this.grow(lease);
      return drawn;
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
    if (actualNanos > r.amountNanos) this.overrun(r, actualNanos);
    if (this.book_.settle(r, actualNanos)) this.grow(r.lease);
  }

  /** Makes a finished call's cost bookable at the next flush, once (its outcome row is written, when it was recorded). */
  book(r: Reservation): void {
    // calls that waited for this room (the cap was reached but for outcomes not yet written) are served now
    if (this.book_.book(r) && r.lease) this.grow(r.lease);
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
    this.book_.retireAll();
    const { retired } = this.book_;
    for (let attempt = 0; attempt < 5 && retired.size > 0; attempt++) {
      await Promise.all([...retired].map((l) => l.growing));
      await this.flush(true);
    }
    if (retired.size > 0) this.logger.error({ leases: retired.size }, 'leases not given back at shutdown: they are reconciled after they expire');
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
    return this.book_.leaseFor(key, this.periodOf(key));
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
      const g = this.book_.nextGrow(lease);
      if (!g) return;
      const sentAt = performance.now();
      let result: bigint | 'gone';
      try {
        result = await this.growStatement(lease, g);
      } catch (err) {
        for (const w of this.book_.growFailed(lease)) w.reject(err);
        return;
      }
      if (result === 'gone') return this.moveWaiters(lease);
      const { served, refused, awaitOutcomes } = this.book_.granted(lease, g, result, sentAt);
      for (const [w, r] of served) w.resolve(r);
      for (const w of refused) w.reject(this.refusal(lease.key));
      if (lease.waiters.length === 0 || awaitOutcomes) return;
    }
  }

  /** The granted amount, or 'gone' when the lease was reconciled meanwhile. */
  private async growStatement(lease: Lease, { args: a }: Grow): Promise<bigint | 'gone'> {
    const { key } = lease;
    for (let attempt = 1; ; attempt++) {
      const [row] = await this.store.query<{ spend_row: boolean; lease_row: boolean; granted: string }>(this.ops.grow, this.statements.grow, [
        lease.id, key.subjectId ?? key.id, lease.day, lease.isNew, key.capNanos.toString(), a.min.toString(), a.need.toString(), a.want.toString(),
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
    const waiting = this.book_.gone(lease);
    if (waiting.length === 0) return;
    const fresh = this.leaseFor(lease.key);
    fresh.waiters.push(...waiting);
    this.grow(fresh);
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
    // a grow whose outcome is unknown is asked again even when no call waits; calls left waiting
    // for outcomes are looked at again (a safety net: `book` regrows the lease at once)
    for (const lease of [...this.book_.leases.values(), ...this.book_.retired]) {
      if ((lease.unknownGrow || lease.waiters.length > 0) && !lease.growing && !lease.dead) this.grow(lease);
    }
    const batch = this.book_.flushEntries(final, elapsed);
    if (batch.length === 0) return;

    const sentAt = performance.now();
    const params = (quietOnly: boolean, entries: SettleEntry[]) => [
      entries.map((e) => e.lease.id), entries.map((e) => e.lease.key.subjectId ?? e.lease.key.id), entries.map((e) => e.lease.day),
      entries.map((e) => e.lease.key.capNanos.toString()), entries.map((e) => e.used.toString()),
      entries.map((e) => e.released.toString()), entries.map((e) => e.close), quietOnly, this.ttlMs, entries.map((e) => e.seq),
    ];
    type Row = { lease_id: string; found: boolean; applied: boolean; after: string | null; booked: string | null };
    const rows = await this.store.queryPrepared<Row>(this.ops.settle, this.statements.settle, params(true, batch));
    const byId = new Map(rows.map((r) => [r.lease_id, r]));
    for (const e of batch) {
      const row = byId.get(e.lease.id)!;
      // closed, or reconciled meanwhile (this instance looked dead): what it booked there is counted
      if (!row.found) this.book_.answered(e, false, sentAt);
      else if (!row.applied) await this.settleCrossing(e, params(false, [e]));
      else this.book_.answered(e, true, sentAt);
    }
  }

  /** A booking that crosses a percent mark: settled in a transaction that enqueues the cap webhooks. */
  private async settleCrossing(e: SettleEntry, params: unknown[]): Promise<void> {
    const sentAt = performance.now();
    try {
      await this.store.transaction(this.ops.settleEvents, async (m) => {
        const [row]: Array<{ found: boolean; after: string | null; booked: string | null }> = await m.query(this.statements.settle, params);
        if (!row?.found || row.after === null || row.booked === null) return;
        const after = BigInt(row.after);
        const { key, day } = e.lease;
        await this.events(m, { tenantId: key.tenantId, subjectId: key.subjectId ?? key.id, period: day, before: after - BigInt(row.booked), after, cap: key.capNanos });
      });
      this.book_.answered(e, true, sentAt);
    } catch (err) {
      this.logError('settle', err);
    }
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
    const booked = await this.store.transaction(this.ops.reconcile, async (m) => {
      const rows: Array<{ subject_id: string; period: string; tenant_id: string; after: string; amount: string; cap: string | null }> = await m.query(
        this.statements.reconcile,
        [instanceId],
      );
      for (const r of rows) {
        const after = BigInt(r.after);
        const cap = r.cap === null ? null : BigInt(r.cap);
        await this.events(m, { tenantId: r.tenant_id, subjectId: r.subject_id, period: r.period, before: after - BigInt(r.amount), after, cap });
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
