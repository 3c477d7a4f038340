import { MigrationInterface, QueryRunner } from "typeorm";

export class SpendLeaseExpiry1796024584317 implements MigrationInterface {
    name = 'SpendLeaseExpiry1796024584317'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "spend_reservations" ADD "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`);
        await queryRunner.query(`CREATE INDEX "ix_spend_reservations_expires" ON "spend_reservations"  ("expires_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."ix_spend_reservations_expires"`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" DROP COLUMN "expires_at"`);
    }

}
