import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Budgets above a vault key's day (issue 19): a key's lifetime cap (`total_cap_nanos`; the daily
 * cap becomes optional beside it), a credential profile's daily and monthly caps, a tenant's
 * monthly cap. Their spend lives in `budget_spend`, spent through leases in
 * `budget_reservations` as vault_key_spend is through spend_reservations; a call's row names
 * the budget leases it drew on (`budget_lease_ids`, GIN-indexed for the rare reconciliation),
 * so a dead instance's leases are settled from its calls' rows. Both tables hold tenant data:
 * tenant row-level security as the others, and the proxy's grants (it spends them).
 */
export class Budgets1797119000000 implements MigrationInterface {
    name = 'Budgets1797119000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "budget_reservations" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "subject_id" text COLLATE "C" NOT NULL, "period" text COLLATE "C" NOT NULL, "instance_id" text NOT NULL, "amount_nanos" bigint NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "grow_seq" integer NOT NULL DEFAULT '0', "settle_seq" integer NOT NULL DEFAULT '0', "last_granted_nanos" bigint NOT NULL DEFAULT '0', "booked_nanos" bigint NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_338ece04adbaedea1b64e01994f" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_budget_reservations_expires" ON "budget_reservations"  ("expires_at") `);
        await queryRunner.query(`CREATE INDEX "ix_budget_reservations_instance" ON "budget_reservations"  ("instance_id") `);
        await queryRunner.query(`CREATE TABLE "budget_spend" ("subject_id" text COLLATE "C" NOT NULL, "period" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "spent_nanos" bigint NOT NULL DEFAULT '0', "reserved_nanos" bigint NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_57f604c5ffcf0600bb637c66eb7" PRIMARY KEY ("subject_id", "period"))`);
        await queryRunner.query(`ALTER TABLE "audit_log" ADD "budget_lease_ids" text array`);
        await queryRunner.query(`CREATE INDEX "ix_audit_budget_leases" ON "audit_log" USING gin ("budget_lease_ids") WHERE budget_lease_ids IS NOT NULL`);
        await queryRunner.query(`ALTER TABLE "credential_profiles" ADD "daily_cap_nanos" bigint`);
        await queryRunner.query(`ALTER TABLE "credential_profiles" ADD "monthly_cap_nanos" bigint`);
        await queryRunner.query(`ALTER TABLE "tenants" ADD "monthly_cap_nanos" bigint`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "total_cap_nanos" bigint`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ALTER COLUMN "daily_cap_nanos" DROP NOT NULL`);
        for (const table of ['budget_spend', 'budget_reservations']) {
            await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "${table}" TO keyvault_tenant`);
            await queryRunner.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
            await queryRunner.query(
                `CREATE POLICY "tenant_isolation" ON "${table}" TO keyvault_tenant
                    USING (tenant_id = current_setting('keyvault.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('keyvault.tenant_id', true))`,
            );
            await queryRunner.query(`CREATE POLICY "proxy_access" ON "${table}" TO keyvault_proxy USING (true) WITH CHECK (true)`);
        }
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE ON "budget_spend" TO keyvault_proxy`);
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "budget_reservations" TO keyvault_proxy`);
        // a database where the api's role (1797122000000) came first: secure these as it secures every tenant table
        await queryRunner.query(`
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'keyvault_secure_tenant_table') THEN
                    PERFORM keyvault_secure_tenant_table('budget_spend'::regclass);
                    PERFORM keyvault_secure_tenant_table('budget_reservations'::regclass);
                END IF;
            END $$`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const table of ['budget_spend', 'budget_reservations']) {
            await queryRunner.query(`DROP POLICY IF EXISTS "proxy_access" ON "${table}"`);
            await queryRunner.query(`DROP POLICY IF EXISTS "tenant_isolation" ON "${table}"`);
            await queryRunner.query(`REVOKE ALL ON "${table}" FROM keyvault_proxy`);
            await queryRunner.query(`REVOKE ALL ON "${table}" FROM keyvault_tenant`);
        }
        await queryRunner.query(`ALTER TABLE "vault_keys" ALTER COLUMN "daily_cap_nanos" SET NOT NULL`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "total_cap_nanos"`);
        await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "monthly_cap_nanos"`);
        await queryRunner.query(`ALTER TABLE "credential_profiles" DROP COLUMN "monthly_cap_nanos"`);
        await queryRunner.query(`ALTER TABLE "credential_profiles" DROP COLUMN "daily_cap_nanos"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_budget_leases"`);
        await queryRunner.query(`ALTER TABLE "audit_log" DROP COLUMN "budget_lease_ids"`);
        await queryRunner.query(`DROP TABLE "budget_spend"`);
        await queryRunner.query(`DROP INDEX "public"."ix_budget_reservations_instance"`);
        await queryRunner.query(`DROP INDEX "public"."ix_budget_reservations_expires"`);
        await queryRunner.query(`DROP TABLE "budget_reservations"`);
    }
}
