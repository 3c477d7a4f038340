import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTenant } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import type { UsageGroup } from './dto/usage-query.dto';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** More buckets than this in one answer is a mistake (an hourly view over a year). */
const MAX_BUCKETS = 24 * 93;

export interface UsageRow {
  key: string | null;
  label: string | null;
  cost_nanos: string;
  calls: number;
  refused: number;
}

export interface RefusalRow {
  code: string;
  count: number;
}

/** What each grouping reads: the bucket's key, and the key's label for vault keys. */
const GROUPS: Record<Exclude<UsageGroup, 'day' | 'hour'>, { key: string; label: string; join: string }> = {
  vault_key: { key: 'a.vault_key_id', label: 'max(k.label)', join: 'LEFT JOIN vault_keys k ON k.id = a.vault_key_id' },
  credential: { key: 'a.credential_id', label: 'max(c.name)', join: 'LEFT JOIN credential_profiles c ON c.id = a.credential_id' },
  label: { key: 'k.label', label: 'k.label', join: 'LEFT JOIN vault_keys k ON k.id = a.vault_key_id' },
};

/**
 * Spend and calls from the audit log, which books every call at exactly what the ledger charged
 * it (integer nano-dollars, summed in Postgres: never rounded on the way).
 */
@Injectable()
export class UsageService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  range(group: UsageGroup, from?: string, to?: string): { from: Date; to: Date } {
    const end = to ? new Date(to) : new Date();
    const start = from ? new Date(from) : new Date(end.getTime() - (group === 'hour' ? DAY_MS : 30 * DAY_MS));
    if (start >= end) throw new KeyvaultError('parameter_invalid', 'to must be later than from.', 'to');
    if ((group === 'hour' || group === 'day') && (end.getTime() - start.getTime()) / (group === 'hour' ? HOUR_MS : DAY_MS) > MAX_BUCKETS) {
      throw new KeyvaultError('parameter_invalid', `At most ${MAX_BUCKETS} ${group}s in one answer: narrow from and to.`, 'from');
    }
    return { from: start, to: end };
  }

  async usage(tenantId: string, group: UsageGroup, from: Date, to: Date): Promise<{ rows: UsageRow[]; refusals: RefusalRow[] }> {
    const params = [tenantId, from, to];
    const where = 'a.tenant_id = $1 AND a.created_at >= $2 AND a.created_at < $3';
    const sql =
      group === 'day' || group === 'hour'
        ? // every bucket of the range, empty ones too, oldest first (UTC)
          `WITH buckets AS (
             SELECT generate_series(date_trunc('${group}', $2::timestamptz AT TIME ZONE 'UTC'),
                                    ($3::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC', interval '1 ${group}') AS b
           ), spent AS (
             SELECT date_trunc('${group}', a.created_at AT TIME ZONE 'UTC') AS b, sum(a.cost_nanos) AS cost,
                    count(*) AS calls, count(*) FILTER (WHERE a.error_code IS NOT NULL) AS refused
               FROM audit_log a WHERE ${where} GROUP BY 1
           )
           SELECT to_char(buckets.b, '${group === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM-DD"T"HH24:00:00"Z"'}') AS key, NULL AS label,
                  COALESCE(spent.cost, 0)::text AS cost_nanos, COALESCE(spent.calls, 0)::int AS calls, COALESCE(spent.refused, 0)::int AS refused
             FROM buckets LEFT JOIN spent ON spent.b = buckets.b ORDER BY buckets.b`
        : `SELECT ${GROUPS[group].key} AS key, ${GROUPS[group].label} AS label, sum(a.cost_nanos)::text AS cost_nanos,
                  count(*)::int AS calls, count(*) FILTER (WHERE a.error_code IS NOT NULL)::int AS refused
             FROM audit_log a ${GROUPS[group].join}
            WHERE ${where} GROUP BY ${GROUPS[group].key} ORDER BY sum(a.cost_nanos) DESC, 1`;
    return withTenant(this.db, tenantId, async (m) => ({
      rows: await m.query(sql, params),
      refusals: await m.query(
        `SELECT a.error_code AS code, count(*)::int AS count FROM audit_log a
          WHERE ${where} AND a.error_code IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1`,
        params,
      ),
    }));
  }
}
