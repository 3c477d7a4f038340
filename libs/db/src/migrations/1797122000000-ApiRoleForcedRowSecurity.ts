import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Least privilege for the api (issue 22): it stops running as the tables' owner.
 *
 * - `keyvault_api` (NOLOGIN NOINHERIT): what the api's connections switch to after migrations ran
 *   as the login (KEYVAULT_API_DB_ROLE). It owns nothing and may read and write every table
 *   (the api is the operators' door to all of them), but on each table holding a `tenant_id`
 *   its one policy admits only the rows of the tenant the transaction names
 *   (`keyvault.tenant_id`, set by withTenant), and none when it names none.
 * - `keyvault_worker` (NOLOGIN): the api's explicit way across tenants, for the background
 *   work that spans them by nature (webhook deliveries, retention) and the API-key lookup that
 *   learns a caller's tenant. A policy admits every row to it; its grants are only what those
 *   paths need. keyvault_api is a member so that a deployment whose api logs in as keyvault_api
 *   can switch to it; NOINHERIT keeps the worker's policies and grants from applying to
 *   keyvault_api itself.
 * - FORCE ROW LEVEL SECURITY on every table with a tenant_id, so that ownership bypasses
 *   nothing either (superusers still do: a deployment's login should not be one).
 * - The proxy (keyvault_proxy) spans tenants by nature (any tenant's key may call): it keeps a
 *   policy admitting every row of the tables it is granted; its grants are its wall.
 *
 * `keyvault_secure_tenant_table(regclass)` does all of that for one table; a later migration
 * that adds a table with a tenant_id calls it (`SELECT keyvault_secure_tenant_table('t')`).
 * A later data migration that rewrites tenants' rows as a login that is not a superuser turns
 * `NO FORCE ROW LEVEL SECURITY` on the table for its own transaction and back after.
 *
 * Written by hand: roles, grants and policies are invisible to `migration:generate`.
 * Roles are cluster-wide and test databases share one server: created only if missing, and a
 * concurrent creation by another database's migration is not an error. A login that may not
 * create roles is told to run `npm run db:roles` first. `down` leaves the roles.
 */
const WORKER_GRANTS: Record<string, string> = {
    // the API-key lookup (authentication comes before any tenant is known)
    tenant_api_keys: 'SELECT',
    // webhook deliveries: claim, send, record
    tenants: 'SELECT',
    vault_keys: 'SELECT',
    webhooks: 'SELECT',
    webhook_events: 'SELECT, DELETE',
    webhook_deliveries: 'SELECT, UPDATE, DELETE',
    webhook_delivery_attempts: 'SELECT, INSERT, DELETE',
    // retention
    audit_log: 'SELECT, DELETE',
    audit_captures: 'SELECT, DELETE',
};

const SECURE_TENANT_TABLE = `
CREATE OR REPLACE FUNCTION keyvault_secure_tenant_table(t regclass) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    tenant_rows constant text := $$tenant_id = current_setting('keyvault.tenant_id', true)$$;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO keyvault_api', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'api_tenant') THEN
        EXECUTE format('CREATE POLICY api_tenant ON %s TO keyvault_api USING (%s) WITH CHECK (%s)', t, tenant_rows, tenant_rows);
    END IF;
    -- what the worker may do there is up to its grants (none unless given)
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'worker_all') THEN
        EXECUTE format('CREATE POLICY worker_all ON %s TO keyvault_worker USING (true) WITH CHECK (true)', t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'tenant_isolation') THEN
        EXECUTE format('CREATE POLICY tenant_isolation ON %s TO keyvault_tenant USING (%s) WITH CHECK (%s)', t, tenant_rows, tenant_rows);
    END IF;
    -- a table the proxy was granted before it had row security keeps working for the proxy
    IF has_table_privilege('keyvault_proxy', t, 'SELECT, INSERT, UPDATE, DELETE')
       AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'proxy_access') THEN
        EXECUTE format('CREATE POLICY proxy_access ON %s TO keyvault_proxy USING (true) WITH CHECK (true)', t);
    END IF;
END
$fn$`;

export class ApiRoleForcedRowSecurity1797122000000 implements MigrationInterface {
    name = 'ApiRoleForcedRowSecurity1797122000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        for (const [role, attributes] of [['keyvault_api', 'NOLOGIN NOINHERIT'], ['keyvault_worker', 'NOLOGIN']]) {
            await queryRunner.query(`
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
                        CREATE ROLE ${role} ${attributes};
                    END IF;
                EXCEPTION
                    WHEN duplicate_object OR unique_violation THEN NULL;
                    WHEN insufficient_privilege THEN
                        RAISE EXCEPTION 'role ${role} is missing and % may not create it: run npm run db:roles once as a role that may (docs/database-roles.md)', current_user;
                END $$`);
            // a login that is not a superuser may only switch to the roles it is a member of
            await queryRunner.query(`
                DO $$ BEGIN
                    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                       AND NOT pg_has_role(current_user, '${role}', 'MEMBER') THEN
                        EXECUTE format('GRANT ${role} TO %I', current_user);
                    END IF;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END $$`);
        }
        await queryRunner.query(`
            DO $$ BEGIN
                IF NOT pg_has_role('keyvault_api', 'keyvault_worker', 'MEMBER') THEN
                    GRANT keyvault_worker TO keyvault_api;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$`);

        await queryRunner.query(`GRANT USAGE ON SCHEMA public TO keyvault_api, keyvault_worker`);
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO keyvault_api`);
        await queryRunner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO keyvault_api`);
        // the api reads which migrations ran (a deployment may run them beforehand with another login)
        await queryRunner.query(`REVOKE INSERT, UPDATE, DELETE ON "migrations" FROM keyvault_api`);
        // tables later migrations create (as this login) are the api's to use too; their row
        // security is keyvault_secure_tenant_table's
        await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO keyvault_api`);
        await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO keyvault_api`);
        for (const [table, privileges] of Object.entries(WORKER_GRANTS)) {
            await queryRunner.query(`GRANT ${privileges} ON "${table}" TO keyvault_worker`);
        }

        await queryRunner.query(SECURE_TENANT_TABLE);
        // every table with a tenant_id, whichever migration made it; a partition is reached
        // through its parent's policies, never directly
        const tables: { oid: string; partition: boolean }[] = await queryRunner.query(`
            SELECT c.oid::regclass::text AS oid, c.relispartition AS partition
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             ORDER BY 1`);
        for (const { oid, partition } of tables) {
            if (partition) await queryRunner.query(`REVOKE ALL ON ${oid} FROM keyvault_api, keyvault_worker`);
            else await queryRunner.query(`SELECT keyvault_secure_tenant_table($1::regclass)`, [oid]);
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        const tables: { oid: string }[] = await queryRunner.query(`
            SELECT DISTINCT p.polrelid::regclass::text AS oid FROM pg_policy p WHERE p.polname IN ('api_tenant', 'worker_all')`);
        for (const { oid } of tables) {
            await queryRunner.query(`DROP POLICY IF EXISTS api_tenant ON ${oid}`);
            await queryRunner.query(`DROP POLICY IF EXISTS worker_all ON ${oid}`);
            await queryRunner.query(`ALTER TABLE ${oid} NO FORCE ROW LEVEL SECURITY`);
        }
        await queryRunner.query(`DROP FUNCTION IF EXISTS keyvault_secure_tenant_table(regclass)`);
        await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM keyvault_api`);
        await queryRunner.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM keyvault_api`);
        await queryRunner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM keyvault_api, keyvault_worker`);
        await queryRunner.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM keyvault_api`);
        await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM keyvault_api, keyvault_worker`);
    }

}
