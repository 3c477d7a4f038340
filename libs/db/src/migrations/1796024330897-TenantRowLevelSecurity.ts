import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Row-level security on every tenant-owned table: the second wall behind the services' own
 * `tenant_id = $1` filters (see `withTenant` in libs/db/src/tenant-scope.ts).
 *
 * Written by hand: `migration:generate` sees entities, and entities know nothing of roles,
 * grants or policies, so nothing here could be generated (and the drift check ignores it).
 *
 * - The policies apply to one role, `keyvault_tenant` (NOLOGIN), which tenant-scoped reads
 *   switch to with `SET LOCAL ROLE` inside their transaction. They must switch: a superuser
 *   (the app's own connection in tests and in `npm start` is `postgres`) and a table's owner
 *   bypass row-level security entirely, so the policies would never apply to them. Every other
 *   path (the proxy's hot path, workers, migrations) keeps running as the owner, untouched.
 * - The tenant comes from the transaction-local setting `keyvault.tenant_id`;
 *   `current_setting(..., true)` is NULL when it is unset, and `tenant_id = NULL` matches no row,
 *   so a query that forgot to name its tenant reads nothing rather than everything.
 * - Roles are cluster-wide and test databases share one server: the role is created only if
 *   missing, and a concurrent creation by another database's migration is not an error.
 *   `down` leaves the role, which other databases may still use.
 */
const TABLES = [
    'vault_keys', 'credential_profiles', 'credential_keys', 'tenant_api_keys', 'audit_log',
    'webhooks', 'webhook_events', 'webhook_deliveries', 'vault_key_spend', 'spend_reservations',
];

export class TenantRowLevelSecurity1796024330897 implements MigrationInterface {
    name = 'TenantRowLevelSecurity1796024330897'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keyvault_tenant') THEN
                    CREATE ROLE keyvault_tenant NOLOGIN;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$`);
        // A non-superuser may only SET ROLE to a role it is a member of.
        await queryRunner.query(`
            DO $$ BEGIN
                IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   AND NOT pg_has_role(current_user, 'keyvault_tenant', 'MEMBER') THEN
                    EXECUTE format('GRANT keyvault_tenant TO %I', current_user);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$`);
        await queryRunner.query(`GRANT USAGE ON SCHEMA public TO keyvault_tenant`);
        for (const table of TABLES) {
            await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "${table}" TO keyvault_tenant`);
            await queryRunner.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
            await queryRunner.query(
                `CREATE POLICY "tenant_isolation" ON "${table}" TO keyvault_tenant
                    USING (tenant_id = current_setting('keyvault.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('keyvault.tenant_id', true))`,
            );
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const table of [...TABLES].reverse()) {
            await queryRunner.query(`DROP POLICY IF EXISTS "tenant_isolation" ON "${table}"`);
            await queryRunner.query(`ALTER TABLE "${table}" DISABLE ROW LEVEL SECURITY`);
            await queryRunner.query(`REVOKE ALL ON "${table}" FROM keyvault_tenant`);
        }
        await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM keyvault_tenant`);
    }

}
