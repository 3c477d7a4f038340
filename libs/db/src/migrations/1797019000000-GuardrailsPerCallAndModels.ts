import { MigrationInterface, QueryRunner } from "typeorm";

/** Vault-key guardrails (issue 19): a per-call USD limit and model globs, both optional. */
export class GuardrailsPerCallAndModels1797019000000 implements MigrationInterface {
    name = 'GuardrailsPerCallAndModels1797019000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "max_call_nanos" bigint`);
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "allowed_models" text array`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "allowed_models"`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "max_call_nanos"`);
    }
}
