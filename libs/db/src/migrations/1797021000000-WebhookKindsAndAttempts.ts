import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Webhook kinds (signed, slack, email) and the delivery history attempt by attempt (issue 21).
 * The table and columns as `migration:generate` writes them; the grant and row-level security
 * policy of the new tenant-owned table by hand, as in TenantRowLevelSecurity.
 */
export class WebhookKindsAndAttempts1797021000000 implements MigrationInterface {
    name = 'WebhookKindsAndAttempts1797021000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "webhook_delivery_attempts" ("delivery_id" text COLLATE "C" NOT NULL, "attempt" integer NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "status_code" integer, "duration_ms" integer NOT NULL, "error" text, "response_excerpt" text, CONSTRAINT "PK_webhook_delivery_attempts" PRIMARY KEY ("delivery_id", "attempt"))`);
        await queryRunner.query(`ALTER TABLE "webhooks" ADD "kind" text NOT NULL DEFAULT 'signed'`);
        await queryRunner.query(`ALTER TABLE "webhooks" ADD "email_to" text array`);
        await queryRunner.query(`ALTER TABLE "webhooks" ALTER COLUMN "url" DROP NOT NULL`);
        await queryRunner.query(`ALTER TABLE "webhook_deliveries" ADD "leased_until" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "webhook_deliveries" ADD "attempt_limit" integer`);
        await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON "webhook_delivery_attempts" TO keyvault_tenant`);
        await queryRunner.query(`ALTER TABLE "webhook_delivery_attempts" ENABLE ROW LEVEL SECURITY`);
        await queryRunner.query(
            `CREATE POLICY "tenant_isolation" ON "webhook_delivery_attempts" TO keyvault_tenant
                USING (tenant_id = current_setting('keyvault.tenant_id', true))
                WITH CHECK (tenant_id = current_setting('keyvault.tenant_id', true))`,
        );
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP COLUMN "attempt_limit"`);
        await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP COLUMN "leased_until"`);
        await queryRunner.query(`ALTER TABLE "webhooks" ALTER COLUMN "url" SET NOT NULL`);
        await queryRunner.query(`ALTER TABLE "webhooks" DROP COLUMN "email_to"`);
        await queryRunner.query(`ALTER TABLE "webhooks" DROP COLUMN "kind"`);
        await queryRunner.query(`DROP TABLE "webhook_delivery_attempts"`);
    }
}
