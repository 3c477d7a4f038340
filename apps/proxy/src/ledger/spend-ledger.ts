import { Inject, Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import type { EntityManager } from 'typeorm';
import type { ProxyConfig } from '@keyvault/config';
import { randomChars } from '@keyvault/crypto';
import { enqueueSpendEvents } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { nextUtcMidnight, secondsUntilUtcMidnight, utcDay } from '@keyvault/policy';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';
import { LeaseLedger, type Booking } from './lease-ledger';
import { KEY_DAY_TABLES } from './lease-statements';

export { Reservation, type LedgerKey } from './lease-book';


/**
 * The cap the ledger holds a key without a daily cap to (it has a lifetime cap instead): its day
 * is still booked, for spent_today_usd and the usage reports, but never refused. $1e9, far from
 * bigint's end in every statement's arithmetic.
 */
export const NO_DAILY_CAP_NANOS = 1_000_000_000_000_000_000n;

/** The proxy's clock for budget periods: the wall clock, shifted by KEYVAULT_TEST_CLOCK_OFFSET_MS in tests. */
export const ledgerClock = (config: ProxyConfig) => () => Date.now() + config.KEYVAULT_TEST_CLOCK_OFFSET_MS;

/** This instance's id in lease rows: KEYVAULT_INSTANCE_ID, or one of its own. */
export const ledgerInstanceId = (config: ProxyConfig) => config.KEYVAULT_INSTANCE_ID ?? `${hostname()}-${process.pid}-${randomChars(6)}`;

/** A vault key's spend per UTC day (vault_key_spend): its `daily_usd_cap` (see LeaseLedger). */
@Injectable()
export class SpendLedger extends LeaseLedger {
  private readonly now: () => number;
  private day = '';
  private dayEndsAt = 0;

  constructor(store: ProxyStore, metrics: ProxyMetrics, @Inject(PROXY_CONFIG) config: ProxyConfig) {
    super(store, metrics, ledgerInstanceId(config), config.KEYVAULT_LEASE_TTL_MS, KEY_DAY_TABLES, {
      grow: 'spend_lease_grow',
      settle: 'spend_settle',
      settleEvents: 'spend_settle_events',
      reconcile: 'spend_reconcile',
    });
    this.now = ledgerClock(config);
  }

  protected periodOf(): string {
    const now = this.now();
    if (now >= this.dayEndsAt) {
      this.day = utcDay(now);
      this.dayEndsAt = nextUtcMidnight(now);
    }
    return this.day;
  }

  protected refusal(): KeyvaultError {
    return new KeyvaultError('daily_cap_exceeded', "This call would pass the vault key's daily USD cap.").withHeaders({
      'Retry-After': String(secondsUntilUtcMidnight(this.now())),
    });
  }

  protected async events(m: EntityManager, b: Booking): Promise<void> {
    if (b.cap === null || b.cap >= NO_DAILY_CAP_NANOS) return;
    await enqueueSpendEvents(m, { tenantId: b.tenantId, vaultKeyId: b.subjectId, day: b.period, before: b.before, after: b.after, cap: b.cap });
  }
}
