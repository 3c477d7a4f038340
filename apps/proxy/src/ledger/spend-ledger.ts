import { Injectable, Logger } from '@nestjs/common';
import { enqueueSpendEvents } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { secondsUntilUtcMidnight, utcDay } from '@keyvault/policy';
import { ProxyStore } from '../store/proxy-store';

/** Money held against one key's cap for one call, until the call settles. */
export interface Reservation {
  vaultKeyId: string;
  tenantId: string;
  /** the UTC day the money is booked on ('' when nothing was reserved) */
  day: string;
  amountMicros: bigint;
  capMicros: bigint;
}

/**
 * A vault key's spend per UTC day (vault_key_spend), shared by every proxy instance through the
 * database. `reserve` holds a call's cost before it is sent, in one atomic statement, so no
 * concurrency on any number of instances passes the cap; `settle` books what the call actually
 * cost (never more than was held) and returns the rest. A call that never settles (instance
 * killed) leaves its reservation counted: the cap errs on the safe side.
 * The interface is deliberately small, so budget leases can replace the per-call statement.
 */
@Injectable()
export class SpendLedger {
  private readonly logger = new Logger('SpendLedger');
  private lastSettleErrorLog = 0;

  constructor(private readonly store: ProxyStore) {}

  /** Holds `amountMicros` or throws 429 daily_cap_exceeded (Retry-After: the next UTC midnight) / 503. */
  async reserve(key: { id: string; tenantId: string; capMicros: bigint }, amountMicros: bigint): Promise<Reservation> {
    const now = Date.now();
    if (amountMicros === 0n) return { vaultKeyId: key.id, tenantId: key.tenantId, day: '', amountMicros, capMicros: key.capMicros };
    const reservation = { vaultKeyId: key.id, tenantId: key.tenantId, day: utcDay(now), amountMicros, capMicros: key.capMicros };
    const held = await this.store.query(
      'spend_reserve',
      `INSERT INTO vault_key_spend AS s (vault_key_id, day, tenant_id, spent_micros, reserved_micros, updated_at)
       SELECT $1, $2, $3, 0, $4::bigint, now() WHERE $4::bigint <= $5::bigint
       ON CONFLICT (vault_key_id, day) DO UPDATE
          SET reserved_micros = s.reserved_micros + EXCLUDED.reserved_micros, updated_at = now()
        WHERE s.spent_micros + s.reserved_micros + EXCLUDED.reserved_micros <= $5::bigint
       RETURNING 1`,
      [key.id, reservation.day, key.tenantId, amountMicros.toString(), key.capMicros.toString()],
    );
    if (held.length === 0) {
      throw new KeyvaultError('daily_cap_exceeded', "This call would pass the vault key's daily USD cap.").withHeaders({
        'Retry-After': String(secondsUntilUtcMidnight(now)),
      });
    }
    return reservation;
  }

  /**
   * Books the actual cost (capped at what was reserved) and releases the rest; 0n releases it
   * all (the upstream failed). Crossing a cap threshold enqueues its webhook events in the same
   * transaction. Never throws: a failed settle leaves the reservation counted.
   */
  async settle(r: Reservation, actualMicros: bigint): Promise<void> {
    if (r.amountMicros === 0n) return;
    const spent = actualMicros < 0n ? 0n : actualMicros > r.amountMicros ? r.amountMicros : actualMicros;
    const params = [r.vaultKeyId, r.day, r.amountMicros.toString(), spent.toString(), r.capMicros.toString()];
    try {
      // The common case in one statement: it applies only when no whole-percent mark of the
      // cap (a webhook threshold, or the cap itself) lies in (before, after].
      const quiet = await this.store.queryLazyCommit(
        'spend_settle',
        `UPDATE vault_key_spend
            SET reserved_micros = reserved_micros - $3::bigint, spent_micros = spent_micros + $4::bigint, updated_at = now()
          WHERE vault_key_id = $1 AND day = $2
            AND NOT ($4::bigint > 0 AND ${FIRST_MARK_ABOVE_SPENT} <= 100
                     AND ($5::bigint * ${FIRST_MARK_ABOVE_SPENT}) / 100 <= spent_micros + $4::bigint)
          RETURNING 1`,
        params,
      );
      if (quiet.length > 0) return;
      await this.store.transaction('spend_settle_events', async (m) => {
        const rows: { after: string }[] =
          (await m.query(
            `UPDATE vault_key_spend
                SET reserved_micros = reserved_micros - $3::bigint, spent_micros = spent_micros + $4::bigint, updated_at = now()
              WHERE vault_key_id = $1 AND day = $2
              RETURNING spent_micros AS after`,
            params.slice(0, 4),
          ))[0] ?? [];
        if (rows.length === 0) return;
        const after = BigInt(rows[0].after);
        await enqueueSpendEvents(m, { tenantId: r.tenantId, vaultKeyId: r.vaultKeyId, day: r.day, before: after - spent, after, cap: r.capMicros });
      });
    } catch (err) {
      const now = Date.now();
      if (now - this.lastSettleErrorLog > 5_000) {
        this.lastSettleErrorLog = now;
        this.logger.warn({ vault_key_id: r.vaultKeyId, err: { message: (err as Error).message } }, 'settle failed; the reservation stays counted');
      }
    }
  }
}

/**
 * The smallest whole percent p whose mark floor(cap * p / 100) lies above the spend so far:
 * p = ceil(100 * (spent + 1) / cap). A mark is crossed by a settle iff that p is at most 100 and
 * its mark is at most the new spend (marks grow with p). Same marks as enqueueSpendEvents.
 */
const FIRST_MARK_ABOVE_SPENT = `((100 * (spent_micros + 1) + $5::bigint - 1) / NULLIF($5::bigint, 0))`;
