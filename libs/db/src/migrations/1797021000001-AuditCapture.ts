import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Capture (issue 21): a vault key's `capture` level, and the sealed captures themselves, one per
 * audit row. Keyed by the audit id alone (no foreign key), so the audit table can be partitioned.
 * The grant and row-level security policy of the new tenant-owned table by hand.
 */
export class AuditCapture1797021000001 implements MigrationInterface {
    name = 'AuditCapture1797021000001'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "audit_captures" ("audit_id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "sealed" bytea NOT NULL, "data_key_version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_audit_captures" PRIMARY KEY ("audit_id"))`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "capture" text NOT NULL DEFAULT 'none'`);
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "audit_captures" TO keyvault_tenant`);
        await queryRunner.query(`ALTER TABLE "audit_captures" ENABLE ROW LEVEL SECURITY`);
        await queryRunner.query(
            `CREATE POLICY "tenant_isolation" ON "audit_captures" TO keyvault_tenant
                USING (tenant_id = current_setting('keyvault.tenant_id', true))
                WITH CHECK (tenant_id = current_setting('keyvault.tenant_id', true))`,
        );
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "capture"`);
        await queryRunner.query(`DROP TABLE "audit_captures"`);
    }
}
