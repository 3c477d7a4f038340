import { MigrationInterface, QueryRunner } from "typeorm";

export class KeyGroups1797020100000 implements MigrationInterface {
    name = 'KeyGroups1797020100000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "credential_keys" ADD "key_group" text`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "key_group" text`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "fallback_to_shared" boolean NOT NULL DEFAULT false`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "fallback_to_shared"`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "key_group"`);
        await queryRunner.query(`ALTER TABLE "credential_keys" DROP COLUMN "key_group"`);
    }

}
