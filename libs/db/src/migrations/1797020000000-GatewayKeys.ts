import { MigrationInterface, QueryRunner } from "typeorm";

export class GatewayKeys1797020000000 implements MigrationInterface {
    name = 'GatewayKeys1797020000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "gateway_keys" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "name" text NOT NULL, "secret_hash" text NOT NULL, "last4" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_2c822d9d5544187b9ec6846e78d" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_gateway_keys_tenant" ON "gateway_keys"  ("tenant_id", "id") `);
        // by hand: the same row-level security as every tenant-owned table (see TenantRowLevelSecurity)
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "gateway_keys" TO keyvault_tenant`);
        await queryRunner.query(`ALTER TABLE "gateway_keys" ENABLE ROW LEVEL SECURITY`);
        await queryRunner.query(
            `CREATE POLICY "tenant_isolation" ON "gateway_keys" TO keyvault_tenant
                USING (tenant_id = current_setting('keyvault.tenant_id', true))
                WITH CHECK (tenant_id = current_setting('keyvault.tenant_id', true))`,
        );
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP POLICY IF EXISTS "tenant_isolation" ON "gateway_keys"`);
        await queryRunner.query(`DROP INDEX "public"."ix_gateway_keys_tenant"`);
        await queryRunner.query(`DROP TABLE "gateway_keys"`);
    }

}
