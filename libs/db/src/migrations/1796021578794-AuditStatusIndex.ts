import { MigrationInterface, QueryRunner } from "typeorm";

export class AuditStatusIndex1796021578794 implements MigrationInterface {
    name = 'AuditStatusIndex1796021578794'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "ix_audit_status" ON "audit_log"  ("tenant_id", "status", "id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."ix_audit_status"`);
    }

}
