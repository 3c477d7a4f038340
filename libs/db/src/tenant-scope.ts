import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
// the driver's own conversion of a bound value to its text form
import pgUtils from 'pg/lib/utils';
import { type DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * The roles and the setting the row-level security policies name (migrations
 * TenantRowLevelSecurity, ApiRoleForcedRowSecurity; docs/database-roles.md).
 * - `keyvault_api`: what the api's connections run as. Owns nothing; on every table with a
 *   tenant_id its only policy admits the rows of the tenant named by `keyvault.tenant_id`, and
 *   none when no tenant is named.
 * - `keyvault_worker`: the api's one way across tenants, for what spans them by nature (webhook
 *   deliveries, retention, the API-key lookup that learns a caller's tenant). Its grants are
 *   only what those need.
 * - `keyvault_tenant`: the role withTenant switched to before the api had its own (kept for
 *   the policies that name it).
 */
export const API_ROLE = 'keyvault_api';
export const WORKER_ROLE = 'keyvault_worker';
export const TENANT_ROLE = 'keyvault_tenant';
export const TENANT_SETTING = 'keyvault.tenant_id';

/**
 * Runs `work` in a transaction that Postgres itself confines to one tenant: the role is
 * `keyvault_api` (already the api's own; a login that is more, such as a superuser in a test,
 * drops to it) and the setting names the tenant, both for this transaction only, so the pooled
 * connection goes back as it came. A query inside that forgets its tenant filter still reads
 * and writes nothing of another tenant, and cannot write a row naming another tenant.
 * Every read or write of a tenant's rows in the api goes through here.
 */
export async function withTenant<T>(db: DataSource, tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return db.transaction(async (manager) => {
    // one round trip for both; `role` is the setting SET ROLE changes
    await manager.query(`SELECT set_config($1, $2, true), set_config('role', $3, true)`, [TENANT_SETTING, tenantId, API_ROLE]);
    return work(manager);
  });
}

/**
 * Runs `work` in a transaction as `keyvault_worker`, which sees every tenant's rows of the few
 * tables it is granted. Only for what spans tenants by nature; `why` names it, so that each
 * such path reads as a decision at its call site.
 */
export async function acrossTenants<T>(
  db: DataSource,
  why: 'webhook delivery' | 'retention',
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  void why;
  return db.transaction(async (manager) => {
    await manager.query(`SELECT set_config('role', $1, true)`, [WORKER_ROLE]);
    return work(manager);
  });
}

/** A statement of `scopedStatements`: its SQL, prepared once per connection under `name`. */
export interface ScopedStatement {
  name: string;
  text: string;
  values: unknown[];
}

/** Statements prepared on each connection (SQL-level PREPARE: they live as long as the session). */
const preparedOn = new WeakMap<PoolClient, Set<string>>();

/**
 * withTenant (`{ tenantId }`) or acrossTenants (`'api key lookup'`) for the few statements on
 * every hot request: the same transaction, role and setting, and the statements run prepared,
 * all in ONE round trip (BEGIN, the settings, EXECUTE of each, COMMIT as one simple query; the
 * values travel as escaped literals of exactly the text the driver would bind). Returns each
 * statement's rows. A failure drops the connection rather than hand on a broken transaction.
 */
export async function scopedStatements<R extends QueryResultRow = QueryResultRow>(
  db: DataSource,
  scope: { tenantId: string } | 'api key lookup',
  statements: ScopedStatement[],
): Promise<R[][]> {
  const client = await ((db.driver as PostgresDriver).master as Pool).connect();
  const literal = (v: unknown) => {
    const text = pgUtils.prepareValue(v) as string | null;
    return text === null ? 'NULL' : client.escapeLiteral(text);
  };
  const known = preparedOn.get(client) ?? new Set<string>();
  const sql: string[] = [];
  for (const s of statements) {
    if (!/^[a-z_][a-z0-9_]*$/.test(s.name)) throw new Error(`not a plain statement name: ${s.name}`);
    if (!known.has(s.name)) sql.push(`PREPARE ${s.name} AS ${s.text}`);
  }
  sql.push(
    'BEGIN',
    scope === 'api key lookup'
      ? `SELECT set_config('role', '${WORKER_ROLE}', true)`
      : `SELECT set_config('${TENANT_SETTING}', ${literal(scope.tenantId)}, true), set_config('role', '${API_ROLE}', true)`,
    ...statements.map((s) => `EXECUTE ${s.name}${s.values.length ? `(${s.values.map(literal).join(', ')})` : ''}`),
    'COMMIT',
  );
  try {
    const results = (await client.query(sql.join(';\n'))) as unknown as QueryResult<R>[];
    for (const s of statements) known.add(s.name);
    preparedOn.set(client, known);
    client.release();
    return results.slice(-1 - statements.length, -1).map((r) => r.rows);
  } catch (err) {
    client.release(err as Error);
    throw new QueryFailedError(statements.map((s) => s.text).join(';\n'), [], err as Error);
  }
}
