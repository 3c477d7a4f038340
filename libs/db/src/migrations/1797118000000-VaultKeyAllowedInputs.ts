import { MigrationInterface, QueryRunner } from "typeorm";

/** A vault key may refuse images, files and server tools in LLM calls (issue 18): null allows every kind. */
export class VaultKeyAllowedInputs1797118000000 implements MigrationInterface {
    name = 'VaultKeyAllowedInputs1797118000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "allowed_inputs" text array`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "allowed_inputs"`);
    }
}
