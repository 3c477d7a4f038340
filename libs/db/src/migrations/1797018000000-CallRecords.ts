import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A durable record of every call before it is forwarded (issue 18): an audit row carries the
 * lease its call drew on and the worst case it reserved, so a dead instance's lease is settled
 * from its calls' rows; a lease row carries a sequence number per statement kind (grow, settle),
 * what its grants booked, and the last grant, so a statement whose outcome was lost is retried
 * without being applied twice.
 */
export class CallRecords1797018000000 implements MigrationInterface {
    name = 'CallRecords1797018000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "audit_log" ADD "lease_id" text COLLATE "C"`);
        await queryRunner.query(`ALTER TABLE "audit_log" ADD "reserved_nanos" bigint`);
        await queryRunner.query(`CREATE INDEX "ix_audit_lease" ON "audit_log" ("lease_id") WHERE lease_id IS NOT NULL`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" ADD "grow_seq" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" ADD "settle_seq" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" ADD "last_granted_nanos" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" ADD "booked_nanos" bigint NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "spend_reservations" DROP COLUMN "booked_nanos"`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" DROP COLUMN "last_granted_nanos"`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" DROP COLUMN "settle_seq"`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" DROP COLUMN "grow_seq"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_lease"`);
        await queryRunner.query(`ALTER TABLE "audit_log" DROP COLUMN "reserved_nanos"`);
        await queryRunner.query(`ALTER TABLE "audit_log" DROP COLUMN "lease_id"`);
    }
}
