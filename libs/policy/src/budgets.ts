/**
 * Budgets above a vault key's daily cap (issue 19): a key's lifetime (`total_usd_cap`), its
 * credential profile's UTC day and calendar month (UTC), its tenant's calendar month. A call
 * must fit under every level at once; each level is spent through budget leases of its own
 * (apps/proxy/src/ledger), so no level ever passes its cap, whatever the concurrency.
 *
 * Plain rules only: which levels a call draws on, the period each is booked in, when that
 * period ends, and the code a refusal carries.
 */
import { nextUtcMidnight } from './utc-day';

/** The levels above the key's day. The key's own UTC day stays in vault_key_spend. */
export type BudgetLevel = 'vault_key_total' | 'credential_daily' | 'credential_monthly' | 'tenant_monthly';

export const BUDGET_LEVELS: readonly BudgetLevel[] = ['vault_key_total', 'credential_daily', 'credential_monthly', 'tenant_monthly'];

/** The refusal code of each level (429, see libs/errors). */
export const BUDGET_REFUSALS = {
  vault_key_total: 'total_cap_exceeded',
  credential_daily: 'profile_cap_exceeded',
  credential_monthly: 'profile_cap_exceeded',
  tenant_monthly: 'tenant_cap_exceeded',
} as const satisfies Record<BudgetLevel, string>;

/** The period a key's whole life is booked in. */
export const LIFETIME_PERIOD = 'total';

/**
 * The period of `level` that `nowMs` falls in, as budget_spend keys it: `YYYY-MM-DD` for a UTC
 * day, `YYYY-MM` for a calendar month (UTC), `total` for a key's life.
 */
export function budgetPeriod(level: BudgetLevel, nowMs: number): string {
  switch (level) {
    case 'vault_key_total':
      return LIFETIME_PERIOD;
    case 'credential_daily':
      return new Date(nowMs).toISOString().slice(0, 10);
    case 'credential_monthly':
    case 'tenant_monthly':
      return new Date(nowMs).toISOString().slice(0, 7);
  }
}

/** When the period `nowMs` falls in ends (ms), or null for a key's life (it never resets). */
export function budgetPeriodEnd(level: BudgetLevel, nowMs: number): number | null {
  switch (level) {
    case 'vault_key_total':
      return null;
    case 'credential_daily':
      return nextUtcMidnight(nowMs);
    case 'credential_monthly':
    case 'tenant_monthly': {
      const d = new Date(nowMs);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

/** Whole seconds until the period ends (at least 1), for Retry-After; null for a key's life. */
export function secondsUntilBudgetResets(level: BudgetLevel, nowMs: number): number | null {
  const end = budgetPeriodEnd(level, nowMs);
  return end === null ? null : Math.max(1, Math.ceil((end - nowMs) / 1000));
}

/** The caps a call may meet above its key's day; null: that level has no cap. */
export interface BudgetCaps {
  vaultKeyId: string;
  credentialId: string;
  tenantId: string;
  totalCapNanos: bigint | null;
  credentialDailyCapNanos: bigint | null;
  credentialMonthlyCapNanos: bigint | null;
  tenantMonthlyCapNanos: bigint | null;
}

/** One budget a call draws on: the row (subject, period) and its cap. */
export interface Budget {
  level: BudgetLevel;
  /** vk_, cred_ or ten_ id: budget_spend's subject */
  subjectId: string;
  period: string;
  capNanos: bigint;
}

/** The budgets a call draws on besides its key's day, in the order refusals are reported. */
export function callBudgets(c: BudgetCaps, nowMs: number): Budget[] {
  const out: Budget[] = [];
  const add = (level: BudgetLevel, subjectId: string, cap: bigint | null) => {
    if (cap !== null) out.push({ level, subjectId, period: budgetPeriod(level, nowMs), capNanos: cap });
  };
  add('vault_key_total', c.vaultKeyId, c.totalCapNanos);
  add('credential_daily', c.credentialId, c.credentialDailyCapNanos);
  add('credential_monthly', c.credentialId, c.credentialMonthlyCapNanos);
  add('tenant_monthly', c.tenantId, c.tenantMonthlyCapNanos);
  return out;
}

/** The level a stored period belongs to, from its subject's prefix and the period's shape. */
export function levelOf(subjectId: string, period: string): BudgetLevel | null {
  if (subjectId.startsWith('vk_') && period === LIFETIME_PERIOD) return 'vault_key_total';
  if (subjectId.startsWith('cred_')) return period.length === 10 ? 'credential_daily' : period.length === 7 ? 'credential_monthly' : null;
  if (subjectId.startsWith('ten_') && period.length === 7) return 'tenant_monthly';
  return null;
}

/** One level's state: what is booked and what is held against its cap. */
export interface BudgetState {
  capNanos: bigint;
  spentNanos: bigint;
  reservedNanos: bigint;
}

/**
 * Whether `amount` fits under every level at once: the index of the first level it does not
 * fit under, or -1. A call is admitted only when it fits everywhere; the proxy takes it from
 * each level's lease and hands back what it took when one level refuses.
 */
export function firstBudgetRefusing(levels: readonly BudgetState[], amount: bigint): number {
  return levels.findIndex((l) => l.spentNanos + l.reservedNanos + amount > l.capNanos);
}

/**
 * A vault key needs a daily cap, a lifetime cap, or both. Null when it has one; else why not.
 */
export function missingKeyCap(dailyCapNanos: bigint | null, totalCapNanos: bigint | null): string | null {
  return dailyCapNanos === null && totalCapNanos === null ? 'A vault key needs daily_usd_cap, total_usd_cap, or both.' : null;
}

/**
 * The whole percents of `cap` a booking from `before` to `after` crosses, among `thresholds`,
 * and whether it reaches the cap: the webhook events it fires (each once per subject and period).
 */
export function capMarksCrossed(before: bigint, after: bigint, cap: bigint, thresholds: readonly number[]): { thresholds: number[]; reached: boolean } {
  if (after <= before || cap <= 0n) return { thresholds: [], reached: false };
  const crossed = thresholds.filter((pct) => {
    const mark = (cap * BigInt(pct)) / 100n;
    return before < mark && after >= mark;
  });
  return { thresholds: crossed, reached: before < cap && after >= cap };
}
