import type { DataSource, EntityManager } from 'typeorm';

/** The role and setting the row-level security policies name (migration TenantRowLevelSecurity). */
export const TENANT_ROLE = 'keyvault_tenant';
export const TENANT_SETTING = 'keyvault.tenant_id';

/**
 * Runs `work` in a transaction that Postgres itself confines to one tenant: the role switches to
 * `keyvault_tenant` (whose row-level security policies show only rows whose tenant_id is
 * `keyvault.tenant_id`) and the setting names the tenant, both for this transaction only, so
 * the pooled connection goes back as it came. A query inside that forgets its tenant filter
 * still reads and writes nothing of another tenant. Tables outside the policies (tenants,
 * signing keys, idempotency records) are not readable in here.
 */
export async function withTenant<T>(db: DataSource, tenantId: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return db.transaction(async (manager) => {
    // one round trip for both; `role` is the setting SET ROLE changes
    await manager.query(`SELECT set_config($1, $2, true), set_config('role', $3, true)`, [TENANT_SETTING, tenantId, TENANT_ROLE]);
    return work(manager);
  });
}
