import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Calls in flight get their own table, `call_records` (issues 17 and 18): the record written
 * before a call is forwarded was an audit_log row completed later by an UPDATE, and that UPDATE
 * was never HOT (ix_audit_status indexes the status it sets), so each call wrote all eight of
 * audit_log's indexes twice. A record now costs one primary-key entry; the call's audit row is
 * inserted whole with its outcome, by the statement that deletes its record.
 *
 * - Rows of calls still in flight move from audit_log to call_records (stop the proxies of the
 *   earlier version first: they would go on writing in-flight rows into audit_log).
 * - The table holds a tenant_id: row security as every such table (keyvault_secure_tenant_table).
 *   The proxy inserts, reads and deletes records, and no longer updates audit rows; the api's
 *   retention (keyvault_worker) deletes a leftover record whose call has its audit row.
 * - Every row is deleted soon after it is inserted: vacuum it by dead rows, not by table size.
 */
export class CallRecordsTable1797123000000 implements MigrationInterface {
    name = 'CallRecordsTable1797123000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "call_records" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "vault_key_id" text COLLATE "C" NOT NULL, "credential_id" text COLLATE "C", "vendor" text NOT NULL, "method" text NOT NULL, "path" text NOT NULL, "run_id" text, "conversation_id" text, "lease_id" text COLLATE "C", "budget_lease_ids" text array, "reserved_nanos" bigint NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_call_records" PRIMARY KEY ("id"))
            WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_scale_factor = 0)`);
        // audit_log's row security is forced: the owner login moves tenants' rows only with it lifted for this transaction
        await queryRunner.query(`ALTER TABLE "audit_log" NO FORCE ROW LEVEL SECURITY`);
        await queryRunner.query(`
            WITH moved AS (
                DELETE FROM "audit_log" WHERE status = 0 AND error_code IS NULL AND tenant_id IS NOT NULL AND vault_key_id IS NOT NULL
                RETURNING *
            )
            INSERT INTO "call_records" (id, tenant_id, vault_key_id, credential_id, vendor, method, path, run_id, conversation_id,
                                        lease_id, budget_lease_ids, reserved_nanos, created_at)
            SELECT id, tenant_id, vault_key_id, credential_id, vendor, method, path, run_id, conversation_id,
                   lease_id, budget_lease_ids, COALESCE(reserved_nanos, 0), created_at FROM moved`);
        await queryRunner.query(`ALTER TABLE "audit_log" FORCE ROW LEVEL SECURITY`);
        await queryRunner.query(`GRANT SELECT, INSERT, DELETE ON "call_records" TO keyvault_proxy`);
        await queryRunner.query(`SELECT keyvault_secure_tenant_table('call_records')`);
        // retention removes a record left over by a call refused before its INSERT's commit was known
        await queryRunner.query(`GRANT SELECT, DELETE ON "call_records" TO keyvault_worker`);
        await queryRunner.query(`REVOKE UPDATE ON "audit_log" FROM keyvault_proxy`);
        await queryRunner.query(`
            DO $$ DECLARE p regclass; BEGIN
                FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'audit_log'::regclass LOOP
                    EXECUTE format('REVOKE UPDATE ON %s FROM keyvault_proxy', p);
                END LOOP;
            END $$`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`GRANT UPDATE ON "audit_log" TO keyvault_proxy`);
        await queryRunner.query(`ALTER TABLE "audit_log" NO FORCE ROW LEVEL SECURITY`);
        await queryRunner.query(`
            INSERT INTO "audit_log" (id, tenant_id, vault_key_id, credential_id, vendor, method, path, status, cost_nanos, duration_ms,
                                     run_id, conversation_id, lease_id, budget_lease_ids, reserved_nanos, created_at)
            SELECT id, tenant_id, vault_key_id, credential_id, vendor, method, path, 0, 0, 0,
                   run_id, conversation_id, lease_id, budget_lease_ids, reserved_nanos, created_at FROM "call_records"
            ON CONFLICT DO NOTHING`);
        await queryRunner.query(`ALTER TABLE "audit_log" FORCE ROW LEVEL SECURITY`);
        await queryRunner.query(`DROP TABLE "call_records"`);
    }

}
