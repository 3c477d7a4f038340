import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * max_calls_per_minute (issue 19): the per-key limit, the admitted calls' stamps, and the one
 * function that admits a call against them. The function locks the key's row first and reads
 * it after (each statement of a plpgsql function sees what committed before it), so calls from
 * every proxy instance are decided one after another on the database's clock: exact.
 * Returns 0 when admitted, else the milliseconds until the oldest call in the window leaves it.
 */
export class GuardrailsRateLimits1797019200000 implements MigrationInterface {
    name = 'GuardrailsRateLimits1797019200000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "max_calls_per_minute" integer`);
        await queryRunner.query(`CREATE TABLE "rate_windows" ("vault_key_id" text COLLATE "C" NOT NULL, "call_stamps" bigint array NOT NULL DEFAULT '{}', CONSTRAINT "PK_d31507495692b317ed519b06426" PRIMARY KEY ("vault_key_id"))`);
        await queryRunner.query(`
            CREATE FUNCTION keyvault_rate_admit(p_key text, p_limit int, p_window_us bigint) RETURNS bigint
            LANGUAGE plpgsql AS $$
            DECLARE
              stamps bigint[];
              live bigint[];
              t bigint;
            BEGIN
              INSERT INTO rate_windows (vault_key_id) VALUES (p_key) ON CONFLICT (vault_key_id) DO NOTHING;
              SELECT call_stamps INTO stamps FROM rate_windows WHERE vault_key_id = p_key FOR UPDATE;
              -- strictly increasing per key, whatever the clock does between two calls
              t := GREATEST((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, COALESCE(stamps[cardinality(stamps)], 0) + 1);
              live := ARRAY(SELECT s FROM unnest(stamps) s WHERE s > t - p_window_us ORDER BY s);
              IF cardinality(live) < p_limit THEN
                UPDATE rate_windows SET call_stamps = live || t WHERE vault_key_id = p_key;
                RETURN 0;
              END IF;
              UPDATE rate_windows SET call_stamps = live WHERE vault_key_id = p_key;
              RETURN GREATEST(1, (live[1] + p_window_us - t + 999) / 1000);
            END $$`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP FUNCTION keyvault_rate_admit(text, int, bigint)`);
        await queryRunner.query(`DROP TABLE "rate_windows"`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "max_calls_per_minute"`);
    }
}
