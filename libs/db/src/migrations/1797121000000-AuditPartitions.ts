import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The audit table partitioned by UTC day of `created_at` (issue 21, retention): expiry drops a
 * day's partition whole instead of deleting its rows one by one (apps/api/src/audit/audit-partitions.service.ts).
 *
 * Written by hand: TypeORM knows nothing of partitions. The existing table steps aside, a
 * partitioned one with the same columns (same order) takes its name, every day that holds rows
 * gets its partition, the rows are copied, and the indexes are built once the rows are in. The
 * primary key becomes (id, created_at): a key on a partitioned table must hold the partition key.
 * The copy holds the table for its duration (docs/audit-query-plans.md has the figure at 10 M rows).
 *
 * Two functions stay behind, so that the migration and the api's maintenance job create
 * partitions the same way:
 * - `keyvault_copy_table_access(src, dst)`: dst's table grants become src's, and it gets src's
 *   row-level security switches and policies. The partitioned table gets the old one's (tenant RLS, the proxy role's
 *   grants and policy), and every partition gets the partitioned table's, so the walls hold for
 *   a partition named directly too. The api's own roles (keyvault_api, keyvault_worker, when
 *   they exist) are left out: they reach a partition through its parent only
 *   (ApiRoleForcedRowSecurity revokes theirs on partitions; what default privileges give them on
 *   a new partition is revoked).
 * - `keyvault_audit_partition(day)`: creates that day's partition if it is missing (idempotent,
 *   serialised by a transaction advisory lock), moving in the rows the DEFAULT partition caught
 *   for that day meanwhile. The DEFAULT partition is there so that a row never fails to insert,
 *   whatever its created_at and however long the maintenance job has not run.
 */
const COLUMNS = `"id", "tenant_id", "vault_key_id", "credential_id", "provider_key_id", "vendor", "method", "path", "status",
    "error_code", "cost_nanos", "duration_ms", "run_id", "conversation_id", "created_at", "lease_id", "reserved_nanos", "budget_lease_ids"`;

const OLD_INDEXES = ['ix_audit_tenant', 'ix_audit_vault_key', 'ix_audit_run', 'ix_audit_conversation', 'ix_audit_status', 'ix_audit_lease', 'ix_audit_budget_leases'];

const INDEXES = [
    `CREATE INDEX "ix_audit_tenant" ON "audit_log" ("tenant_id", "id")`,
    `CREATE INDEX "ix_audit_vault_key" ON "audit_log" ("tenant_id", "vault_key_id", "id")`,
    `CREATE INDEX "ix_audit_run" ON "audit_log" ("tenant_id", "run_id", "id") WHERE run_id IS NOT NULL`,
    `CREATE INDEX "ix_audit_conversation" ON "audit_log" ("tenant_id", "conversation_id", "id") WHERE conversation_id IS NOT NULL`,
    `CREATE INDEX "ix_audit_status" ON "audit_log" ("tenant_id", "status", "id")`,
    `CREATE INDEX "ix_audit_lease" ON "audit_log" ("lease_id") WHERE lease_id IS NOT NULL`,
    `CREATE INDEX "ix_audit_budget_leases" ON "audit_log" USING gin ("budget_lease_ids") WHERE budget_lease_ids IS NOT NULL`,
];

const COPY_ACCESS = `
CREATE OR REPLACE FUNCTION keyvault_copy_table_access(src regclass, dst regclass) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    s pg_class%ROWTYPE;
    g record;
    p record;
BEGIN
    SELECT * INTO s FROM pg_class WHERE oid = src;
    -- what dst was given by default privileges goes first: its grants become src's
    FOR g IN SELECT DISTINCT quote_ident(r.rolname) AS grantee
               FROM pg_class d, aclexplode(d.relacl) a JOIN pg_roles r ON r.oid = a.grantee
              WHERE d.oid = dst AND a.grantee <> d.relowner LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', dst, g.grantee);
    END LOOP;
    FOR g IN SELECT quote_ident(r.rolname) AS grantee, string_agg(DISTINCT a.privilege_type, ', ') AS privileges
               FROM aclexplode(s.relacl) a JOIN pg_roles r ON r.oid = a.grantee
              WHERE a.grantee <> s.relowner AND r.rolname NOT IN ('keyvault_api', 'keyvault_worker')
              GROUP BY r.rolname LOOP
        EXECUTE format('GRANT %s ON %s TO %s', g.privileges, dst, g.grantee);
    END LOOP;
    IF s.relrowsecurity THEN EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', dst); END IF;
    IF s.relforcerowsecurity THEN EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', dst); END IF;
    FOR p IN SELECT pol.polname, pol.polpermissive, pol.polcmd,
                    (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END, ', ') FROM unnest(pol.polroles) r) AS roles,
                    pg_get_expr(pol.polqual, pol.polrelid) AS qual, pg_get_expr(pol.polwithcheck, pol.polrelid) AS checked
               FROM pg_policy pol WHERE pol.polrelid = src LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', p.polname, dst,
                       CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                       p.roles)
             || COALESCE(' USING (' || p.qual || ')', '') || COALESCE(' WITH CHECK (' || p.checked || ')', '');
    END LOOP;
END
$fn$`;

const AUDIT_PARTITION = `
CREATE OR REPLACE FUNCTION keyvault_audit_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    part text := 'audit_log_' || to_char(day, 'YYYYMMDD');
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('keyvault_audit_partition'));
    IF to_regclass(format('public.%I', part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE public.%I (LIKE public.audit_log INCLUDING DEFAULTS)', part);
    EXECUTE format('WITH m AS (DELETE FROM public.audit_log_default WHERE created_at >= $1 AND created_at < $2 RETURNING *)
                    INSERT INTO public.%I SELECT * FROM m', part) USING lo, hi;
    EXECUTE format('ALTER TABLE public.audit_log ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    PERFORM keyvault_copy_table_access('public.audit_log'::regclass, format('public.%I', part)::regclass);
    RETURN true;
END
$fn$`;

/** Days ahead of today the migration creates (the maintenance job keeps a week ahead from then on). */
const AHEAD_DAYS = 7;

export class AuditPartitions1797121000000 implements MigrationInterface {
    name = 'AuditPartitions1797121000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // The old table keeps its rows, grants and policies until they are copied; its constraint
        // and index names are freed for the new table (the copy reads it whole, no index needed).
        await queryRunner.query(`ALTER TABLE "audit_log" RENAME TO "audit_log_unpartitioned"`);
        await queryRunner.query(`ALTER TABLE "audit_log_unpartitioned" DROP CONSTRAINT "PK_07fefa57f7f5ab8fc3f52b3ed0b"`);
        for (const index of OLD_INDEXES) await queryRunner.query(`DROP INDEX "${index}"`);

        await queryRunner.query(`CREATE TABLE "audit_log" (
            "id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C", "vault_key_id" text COLLATE "C",
            "credential_id" text COLLATE "C", "provider_key_id" text COLLATE "C", "vendor" text NOT NULL, "method" text NOT NULL,
            "path" text NOT NULL, "status" integer NOT NULL, "error_code" text, "cost_nanos" bigint NOT NULL DEFAULT '0',
            "duration_ms" integer NOT NULL, "run_id" text, "conversation_id" text,
            "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "lease_id" text COLLATE "C", "reserved_nanos" bigint,
            "budget_lease_ids" text array
        ) PARTITION BY RANGE ("created_at")`);
        await queryRunner.query(COPY_ACCESS);
        await queryRunner.query(`REVOKE ALL ON FUNCTION keyvault_copy_table_access(regclass, regclass) FROM PUBLIC`);
        await queryRunner.query(`SELECT keyvault_copy_table_access('audit_log_unpartitioned', 'audit_log')`);
        await queryRunner.query(`CREATE TABLE "audit_log_default" PARTITION OF "audit_log" DEFAULT`);
        await queryRunner.query(`SELECT keyvault_copy_table_access('audit_log', 'audit_log_default')`);
        await queryRunner.query(AUDIT_PARTITION);
        await queryRunner.query(`REVOKE ALL ON FUNCTION keyvault_audit_partition(date) FROM PUBLIC`);

        // a partition for every day that holds rows, and for today and the days just ahead
        await queryRunner.query(
            `SELECT keyvault_audit_partition(d) FROM (
                SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS d FROM "audit_log_unpartitioned"
                UNION SELECT (now() AT TIME ZONE 'UTC')::date + i FROM generate_series(0, $1::int) i
             ) days ORDER BY d`,
            [AHEAD_DAYS],
        );
        await queryRunner.query(`INSERT INTO "audit_log" (${COLUMNS}) SELECT ${COLUMNS} FROM "audit_log_unpartitioned"`);
        await queryRunner.query(`DROP TABLE "audit_log_unpartitioned"`);

        // built once the rows are in: faster than maintaining them row by row during the copy
        await queryRunner.query(`ALTER TABLE "audit_log" ADD CONSTRAINT "PK_audit_log" PRIMARY KEY ("id", "created_at")`);
        for (const index of INDEXES) await queryRunner.query(index);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "audit_log" RENAME TO "audit_log_partitioned"`);
        await queryRunner.query(`ALTER TABLE "audit_log_partitioned" DROP CONSTRAINT "PK_audit_log"`);
        for (const index of OLD_INDEXES) await queryRunner.query(`DROP INDEX "${index}"`);
        await queryRunner.query(`CREATE TABLE "audit_log" (LIKE "audit_log_partitioned" INCLUDING DEFAULTS)`);
        await queryRunner.query(`SELECT keyvault_copy_table_access('audit_log_partitioned', 'audit_log')`);
        await queryRunner.query(`INSERT INTO "audit_log" (${COLUMNS}) SELECT ${COLUMNS} FROM "audit_log_partitioned"`);
        await queryRunner.query(`DROP TABLE "audit_log_partitioned"`);
        await queryRunner.query(`DROP FUNCTION keyvault_audit_partition(date)`);
        await queryRunner.query(`DROP FUNCTION keyvault_copy_table_access(regclass, regclass)`);
        await queryRunner.query(`ALTER TABLE "audit_log" ADD CONSTRAINT "PK_07fefa57f7f5ab8fc3f52b3ed0b" PRIMARY KEY ("id")`);
        for (const index of INDEXES) await queryRunner.query(index);
    }
}
