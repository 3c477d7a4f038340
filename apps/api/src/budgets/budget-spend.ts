import type { EntityManager } from 'typeorm';

/**
 * What the budgets above vault keys (issue 19) hold now, for the api's views: a profile's UTC
 * day and calendar month, a tenant's calendar month, on the database's clock (the proxies book
 * them in budget_spend). A level with a cap has its own row; a level without one is not booked
 * by the proxies, so its spend is the sum of its keys' days (vault_key_spend), the same money
 * counted the same way.
 */
export interface PeriodSpend {
  /** `YYYY-MM-DD` (a UTC day) or `YYYY-MM` (a calendar month, UTC) */
  period: string;
  spentNanos: bigint;
  reservedNanos: bigint;
}

export interface CredentialSpend {
  day: PeriodSpend;
  month: PeriodSpend;
}

const DAY = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
const MONTH = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')`;
const MONTH_START = `date_trunc('month', now() AT TIME ZONE 'UTC')::date`;

const periodSpend = (r: Record<string, string>, prefix: string, period: string): PeriodSpend => ({
  period,
  spentNanos: BigInt(r[`${prefix}_spent`]),
  reservedNanos: BigInt(r[`${prefix}_reserved`]),
});

/** The current day's and month's spend of each profile (by id). */
export async function credentialSpend(m: EntityManager, tenantId: string, ids: string[]): Promise<Map<string, CredentialSpend>> {
  if (ids.length === 0) return new Map();
  const rows: Array<Record<string, string>> = await m.query(
    `SELECT c.id, ${DAY} AS day, ${MONTH} AS month,
            CASE WHEN c.daily_cap_nanos IS NULL THEN kd.spent ELSE COALESCE(bd.spent_nanos, 0) END::text AS day_spent,
            CASE WHEN c.daily_cap_nanos IS NULL THEN kd.reserved ELSE COALESCE(bd.reserved_nanos, 0) END::text AS day_reserved,
            CASE WHEN c.monthly_cap_nanos IS NULL THEN km.spent ELSE COALESCE(bm.spent_nanos, 0) END::text AS month_spent,
            CASE WHEN c.monthly_cap_nanos IS NULL THEN km.reserved ELSE COALESCE(bm.reserved_nanos, 0) END::text AS month_reserved
       FROM credential_profiles c
       LEFT JOIN budget_spend bd ON bd.subject_id = c.id AND bd.period = ${DAY}
       LEFT JOIN budget_spend bm ON bm.subject_id = c.id AND bm.period = ${MONTH}
       LEFT JOIN LATERAL (
         SELECT COALESCE(sum(s.spent_nanos), 0) AS spent, COALESCE(sum(s.reserved_nanos), 0) AS reserved
           FROM vault_keys k JOIN vault_key_spend s ON s.vault_key_id = k.id AND s.day = (now() AT TIME ZONE 'UTC')::date
          WHERE k.credential_id = c.id AND c.daily_cap_nanos IS NULL
       ) kd ON true
       LEFT JOIN LATERAL (
         SELECT COALESCE(sum(s.spent_nanos), 0) AS spent, COALESCE(sum(s.reserved_nanos), 0) AS reserved
           FROM vault_keys k JOIN vault_key_spend s ON s.vault_key_id = k.id AND s.day >= ${MONTH_START}
          WHERE k.credential_id = c.id AND c.monthly_cap_nanos IS NULL
       ) km ON true
      WHERE c.tenant_id = $1 AND c.id = ANY($2)`,
    [tenantId, ids],
  );
  return new Map(rows.map((r) => [r.id, { day: periodSpend(r, 'day', r.day), month: periodSpend(r, 'month', r.month) }]));
}

/** The current month's spend of each tenant (by id). */
export async function tenantSpend(m: EntityManager, ids: string[]): Promise<Map<string, PeriodSpend>> {
  if (ids.length === 0) return new Map();
  const rows: Array<Record<string, string>> = await m.query(
    `SELECT t.id, ${MONTH} AS month,
            CASE WHEN t.monthly_cap_nanos IS NULL THEN km.spent ELSE COALESCE(bm.spent_nanos, 0) END::text AS month_spent,
            CASE WHEN t.monthly_cap_nanos IS NULL THEN km.reserved ELSE COALESCE(bm.reserved_nanos, 0) END::text AS month_reserved
       FROM tenants t
       LEFT JOIN budget_spend bm ON bm.subject_id = t.id AND bm.period = ${MONTH}
       LEFT JOIN LATERAL (
         SELECT COALESCE(sum(s.spent_nanos), 0) AS spent, COALESCE(sum(s.reserved_nanos), 0) AS reserved
           FROM vault_key_spend s WHERE s.tenant_id = t.id AND s.day >= ${MONTH_START} AND t.monthly_cap_nanos IS NULL
       ) km ON true
      WHERE t.id = ANY($1)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, periodSpend(r, 'month', r.month)]));
}

/**
 * A cap set (or set again) on a level: its row for the current period starts from what the
 * level's keys spent in it so far, so a monthly cap set mid-month counts the whole month. What
 * calls in flight book meanwhile may be missed by this sum (a cap is not retroactive to the
 * millisecond); a row already there keeps the larger spend.
 */
export async function seedBudget(
  m: EntityManager,
  b: { tenantId: string; subjectId: string; level: 'credential_daily' | 'credential_monthly' | 'tenant_monthly' },
): Promise<void> {
  const period = b.level === 'credential_daily' ? DAY : MONTH;
  const since = b.level === 'credential_daily' ? `(now() AT TIME ZONE 'UTC')::date` : MONTH_START;
  const keys =
    b.level === 'tenant_monthly'
      ? `SELECT s.spent_nanos FROM vault_key_spend s WHERE s.tenant_id = $1 AND s.day >= ${since}`
      : `SELECT s.spent_nanos FROM vault_keys k JOIN vault_key_spend s ON s.vault_key_id = k.id AND s.day >= ${since} WHERE k.credential_id = $2`;
  await m.query(
    `INSERT INTO budget_spend (subject_id, period, tenant_id, spent_nanos, reserved_nanos)
     SELECT $2, ${period}, $1, COALESCE((SELECT sum(spent_nanos) FROM (${keys}) k), 0), 0
     ON CONFLICT (subject_id, period) DO UPDATE SET spent_nanos = GREATEST(budget_spend.spent_nanos, EXCLUDED.spent_nanos), updated_at = now()`,
    [b.tenantId, b.subjectId],
  );
}
