import type { DataSource, EntityManager } from 'typeorm';

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
  why: 'webhook delivery' | 'retention' | 'api key lookup',
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  void why;
  return db.transaction(async (manager) => {
    await manager.query(`SELECT set_config('role', $1, true)`, [WORKER_ROLE]);
    return work(manager);
  });
}
