import { MigrationInterface, QueryRunner } from "typeorm";

/** Header names a vault key lets through beyond its vendor adapter's allowlist (issue 22). */
export class VaultKeyAllowedHeaders1797022000000 implements MigrationInterface {
    name = 'VaultKeyAllowedHeaders1797022000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "allowed_headers" text array NOT NULL DEFAULT '{}'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "allowed_headers"`);
    }

}
