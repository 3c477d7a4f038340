import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The proxy's own role, `keyvault_proxy` (NOLOGIN), with the least it needs (issue 22): read the
 * keys, credentials, tenants' status and data keys, signing keys and gateway keys; write spend,
 * leases, call records (audit rows), captures and duplicate-call claims, and the cap webhooks'
 * outbox. Nothing else: no API keys, no idempotency records, no update of a key, a credential
 * or a tenant, no delete of an audit row. The proxy switches to it on every connection (KEYVAULT_PROXY_DB_ROLE), so a bug or an
 * injected statement in the proxy cannot touch what it was never granted.
 *
 * Written by hand (roles, grants and policies are invisible to `migration:generate`).
 * - The proxy is cross-tenant by nature (any tenant's key may call), so on tables with
 *   row-level security it gets a policy that admits every row; the grants are its wall.
 * - Roles are cluster-wide and test databases share one server: created only if missing, and a
 *   concurrent creation by another database's migration is not an error. The migrating login
 *   (the tables' owner) is made a member, so that a single-login deployment can switch to it;
 *   `down` leaves the role, which other databases may still use.
 */
const READ = ['tenants', 'vault_keys', 'credential_profiles', 'credential_keys', 'signing_keys', 'gateway_keys', 'webhooks'];
const WRITE = {
    vault_key_spend: 'SELECT, INSERT, UPDATE',
    spend_reservations: 'SELECT, INSERT, UPDATE, DELETE',
    // a call's record is written before it is sent and completed after; leases are reconciled from them
    audit_log: 'SELECT, INSERT, UPDATE',
    audit_captures: 'INSERT, SELECT (audit_id)',
    duplicate_calls: 'SELECT, INSERT, UPDATE, DELETE',
    // keyvault_rate_admit (per-minute call limits) runs as its caller
    rate_windows: 'SELECT, INSERT, UPDATE',
    webhook_events: 'SELECT, INSERT',
    webhook_deliveries: 'INSERT',
};

export class ProxyRole1797022000001 implements MigrationInterface {
    name = 'ProxyRole1797022000001'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keyvault_proxy') THEN
                    CREATE ROLE keyvault_proxy NOLOGIN;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$`);
        await queryRunner.query(`
            DO $$ BEGIN
                IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   AND NOT pg_has_role(current_user, 'keyvault_proxy', 'MEMBER') THEN
                    EXECUTE format('GRANT keyvault_proxy TO %I', current_user);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$`);
        await queryRunner.query(`GRANT USAGE ON SCHEMA public TO keyvault_proxy`);
        // Locking a row (SELECT ... FOR SHARE: captures hold the tenant's data key steady while they
        // seal under it) needs an UPDATE privilege on one of its columns: the least telling one.
        await queryRunner.query(`GRANT UPDATE (updated_at) ON "tenants" TO keyvault_proxy`);
        const grants: [string, string][] = [...READ.map((t): [string, string] => [t, 'SELECT']), ...Object.entries(WRITE)];
        for (const [table, privileges] of grants) {
            await queryRunner.query(`GRANT ${privileges} ON "${table}" TO keyvault_proxy`);
            const [{ rls }] = await queryRunner.query(`SELECT relrowsecurity AS rls FROM pg_class WHERE oid = $1::regclass`, [table]);
            if (rls) {
                await queryRunner.query(`CREATE POLICY "proxy_access" ON "${table}" TO keyvault_proxy USING (true) WITH CHECK (true)`);
            }
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const table of [...READ, ...Object.keys(WRITE)]) {
            await queryRunner.query(`DROP POLICY IF EXISTS "proxy_access" ON "${table}"`);
            await queryRunner.query(`REVOKE ALL ON "${table}" FROM keyvault_proxy`);
        }
        await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM keyvault_proxy`);
    }

}
