/**
 * Budget leases: how a proxy instance spends a vault key's daily cap without a database round
 * trip per call. The instance holds a slice of the cap (granted atomically by the database,
 * carved from `cap - spent - reserved`, so the slices of all instances together never pass the
 * cap), draws each call's worst case from it locally, and books what calls actually cost in
 * batches. This class is the local accounting and the sizing rules; the proxy's SpendLedger
 * makes the statements.
 *
 *   held      what the database holds for this lease (granted, less what was booked or given back)
 *   inFlight  the worst cases of calls drawn and not finished
 *   unsettled what finished calls cost, not yet booked
 *   room      held - inFlight - unsettled: what the next calls may draw without asking
 */
export class BudgetLease {
  held = 0n;
  inFlight = 0n;
  unsettled = 0n;
  /** when the last call drew on it (ms, any monotonic clock) */
  lastDrawAt: number;
  private drawnSinceTick = 0n;
  /** worst case drawn per second, smoothed over ticks */
  private rate = 0;
  private lastWorstCase = 0n;
  /** cached target(), refreshed by tick() and by the first draws */
  private targetNanos = 0n;

  constructor(now: number) {
    this.lastDrawAt = now;
  }

  /** the largest worst case drawn lately: prefetch comes in whole calls of it */
  get largestCall(): bigint {
    return this.lastWorstCase > 0n ? this.lastWorstCase : 1n;
  }

  get room(): bigint {
    return this.held - this.inFlight - this.unsettled;
  }

  /** Takes a call's worst case from the room (the caller checked that it fits). */
  draw(amount: bigint, now: number): void {
    this.inFlight += amount;
    this.drawnSinceTick += amount;
    this.lastDrawAt = now;
    if (amount > this.lastWorstCase) {
      this.lastWorstCase = amount;
      this.refreshTarget();
    }
  }

  /** A call drawn for `reserved` finished having cost `spent` (more than `reserved` on an overrun). */
  finish(reserved: bigint, spent: bigint): void {
    this.inFlight -= reserved;
    this.unsettled += spent;
  }

  /**
   * The room this lease tries to keep ahead of its calls: LEASE_HORIZON_MS of its recent
   * traffic, and at least MIN_LEASE_CALLS calls of its largest recent worst case. Small on
   * purpose: what a crashed instance held is counted as spent (see the SpendLedger), so the
   * slice covers a fraction of a second of traffic, not a fraction of the cap.
   */
  target(): bigint {
    return this.targetNanos;
  }

  /** True when the room has fallen below half the target: time to ask for more, ahead of need. */
  get low(): boolean {
    return this.room * 2n < this.targetNanos;
  }

  /** Called every flush with the time since the previous one: updates the rate and the target. */
  tick(elapsedMs: number): void {
    if (elapsedMs <= 0) return;
    const sample = (Number(this.drawnSinceTick) * 1000) / elapsedMs;
    this.rate = this.rate === 0 ? sample : (this.rate + sample) / 2;
    this.drawnSinceTick = 0n;
    // a key that went quiet forgets its largest call, so the floor follows the traffic down
    if (sample === 0) this.lastWorstCase /= 2n;
    this.refreshTarget();
  }

  /** Room beyond twice the target (the traffic slowed down): worth giving back. */
  surplus(): bigint {
    const extra = this.room - 2n * this.targetNanos;
    return extra > 0n ? this.room - this.targetNanos : 0n;
  }

  /**
   * Moves the unsettled cost out, for booking; returns it. What leaves `held` is at most what it
   * holds: a call that cost more than it reserved (an overrun) is booked whole all the same.
   */
  takeUnsettled(): bigint {
    const used = this.unsettled;
    this.unsettled = 0n;
    this.held -= used > this.held ? this.held : used;
    return used;
  }

  private refreshTarget(): void {
    const byRate = BigInt(Math.ceil((this.rate * LEASE_HORIZON_MS) / 1000));
    const byCalls = this.lastWorstCase * MIN_LEASE_CALLS;
    this.targetNanos = byRate > byCalls ? byRate : byCalls;
  }
}

/** How much traffic a lease aims to cover ahead. */
export const LEASE_HORIZON_MS = 250;
/** A lease keeps room for at least this many calls of its largest recent worst case. */
export const MIN_LEASE_CALLS = 4n;
/**
 * What a grant may prefetch beyond the calls waiting for it, as a divisor of the room left under
 * the cap: a quarter at most, so slices shrink as the cap nears and the last calls go through
 * per-call grants on whichever instance has them.
 */
export const LEASE_PREFETCH_DIVISOR = 4n;

/**
 * What a grow statement grants (GROW_LEASE in apps/proxy/src/ledger/lease-statements.ts, which
 * computes the same in SQL on the locked spend row), from the room `cap - spent - reserved`:
 * nothing when the call that waits longest does not fit (`min`); what is left when the calls
 * waiting do not all fit (`need`); else what they need plus a prefetch towards `want` of at most
 * a `divisor`-th of the room beyond them, in whole calls of `unit`.
 */
export function leaseGrant(room: bigint, g: { min: bigint; need: bigint; want: bigint; unit: bigint }, divisor = LEASE_PREFETCH_DIVISOR): bigint {
  if (room < 0n) room = 0n;
  if (room < g.min) return 0n;
  if (room < g.need) return room;
  let extra = (room - g.need) / divisor;
  if (g.want - g.need < extra) extra = g.want - g.need;
  if (extra < 0n) extra = 0n;
  return g.need + extra - (extra % g.unit);
}
