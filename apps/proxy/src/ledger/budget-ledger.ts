import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ProxyConfig } from '@keyvault/config';
import { enqueueCredentialCapEvents } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { BUDGET_REFUSALS, levelOf, secondsUntilBudgetResets, type Budget, type BudgetLevel } from '@keyvault/policy';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import { ProxyStore } from '../store/proxy-store';
import type { LedgerKey } from './lease-book';
import { LeaseLedger, type Booking } from './lease-ledger';
import { BUDGET_TABLES } from './lease-statements';
import { ledgerClock, SpendLedger } from './spend-ledger';

/** One budget a call draws on (callBudgets in libs/policy), as the ledger keys it. */
export interface BudgetKey extends LedgerKey {
  level: BudgetLevel;
  subjectId: string;
  period: string;
}

export const budgetKey = (b: Budget, tenantId: string): BudgetKey => ({
  // one lease per level and subject: a profile's day and month are two budgets
  id: `${b.level}:${b.subjectId}`,
  tenantId,
  capNanos: b.capNanos,
  subjectId: b.subjectId,
  level: b.level,
  period: b.period,
});

const MESSAGES: Record<BudgetLevel, string> = {
  vault_key_total: "This call would pass the vault key's total_usd_cap (its spend over its whole life).",
  credential_daily: "This call would pass its credential profile's daily_usd_cap.",
  credential_monthly: "This call would pass its credential profile's monthly_usd_cap.",
  tenant_monthly: "This call would pass the tenant's monthly_usd_cap.",
};

/**
 * The budgets above a vault key's day (issue 19), in budget_spend: a key's life, its profile's
 * UTC day and calendar month, its tenant's calendar month. The same lease machinery as the
 * key's day (LeaseLedger), one lease per budget and instance; Budgets draws a call on all of its
 * budgets at once.
 */
@Injectable()
export class BudgetLedger extends LeaseLedger {
  private readonly now: () => number;

  constructor(store: ProxyStore, metrics: ProxyMetrics, @Inject(PROXY_CONFIG) config: ProxyConfig, keyDay: SpendLedger) {
    // one instance id for both ledgers: a restart under KEYVAULT_INSTANCE_ID reconciles both
    super(store, metrics, keyDay.instanceId, config.KEYVAULT_LEASE_TTL_MS, BUDGET_TABLES, {
      grow: 'budget_lease_grow',
      settle: 'budget_settle',
      settleEvents: 'budget_settle_events',
      reconcile: 'budget_reconcile',
    });
    this.now = ledgerClock(config);
  }

  protected periodOf(key: LedgerKey): string {
    return (key as BudgetKey).period;
  }

  protected refusal(key: LedgerKey): KeyvaultError {
    const { level } = key as BudgetKey;
    const error = new KeyvaultError(BUDGET_REFUSALS[level], MESSAGES[level]);
    const wait = secondsUntilBudgetResets(level, this.now());
    return wait === null ? error : error.withHeaders({ 'Retry-After': String(wait) });
  }

  protected async events(m: EntityManager, b: Booking): Promise<void> {
    const level = levelOf(b.subjectId, b.period);
    if (b.cap === null || (level !== 'credential_daily' && level !== 'credential_monthly')) return;
    await enqueueCredentialCapEvents(m, { tenantId: b.tenantId, credentialId: b.subjectId, level, period: b.period, before: b.before, after: b.after, cap: b.cap });
  }
}
