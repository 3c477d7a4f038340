import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * duplicate_window (issue 19): seconds per vault key, and the first calls claimed within it.
 * Keys already issued for vendors that move money get the 10-minute default, as new ones do.
 */
export class GuardrailsDuplicateWindow1797019100000 implements MigrationInterface {
    name = 'GuardrailsDuplicateWindow1797019100000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "duplicate_window_seconds" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`UPDATE "vault_keys" SET "duplicate_window_seconds" = 600 WHERE "vendor" IN ('stripe', 'twilio', 'resend')`);
        await queryRunner.query(`CREATE TABLE "duplicate_calls" ("vault_key_id" text COLLATE "C" NOT NULL, "fingerprint" text NOT NULL, "audit_id" text COLLATE "C" NOT NULL, "idempotency_key" text, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_90b4f96a2b6a94863a67c2ce34e" PRIMARY KEY ("vault_key_id", "fingerprint"))`);
        await queryRunner.query(`CREATE INDEX "ix_duplicate_calls_expires" ON "duplicate_calls" ("expires_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."ix_duplicate_calls_expires"`);
        await queryRunner.query(`DROP TABLE "duplicate_calls"`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "duplicate_window_seconds"`);
    }
}
