import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * max_tokens_per_minute (issue 19): the per-key limit, the LLM calls' token counts beside their
 * stamps (the worst case when admitted, settled to usage when the answer tells), and the function
 * that admits a call: like keyvault_rate_admit, it locks the key's row before reading it, so
 * every instance's calls are decided one after another on the database's clock.
 * Returns {0, stamp} when admitted (the stamp settles it later), else {milliseconds to wait, 0}.
 */
export class GuardrailsTokensPerMinute1797019300000 implements MigrationInterface {
    name = 'GuardrailsTokensPerMinute1797019300000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" ADD "max_tokens_per_minute" integer`);
        await queryRunner.query(`ALTER TABLE "rate_windows" ADD "token_stamps" bigint array NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`ALTER TABLE "rate_windows" ADD "token_amounts" bigint array NOT NULL DEFAULT '{}'`);
        await queryRunner.query(`
            CREATE FUNCTION keyvault_token_admit(p_key text, p_limit bigint, p_tokens bigint, p_window_us bigint) RETURNS bigint[]
            LANGUAGE plpgsql AS $$
            DECLARE
              stamps bigint[];
              amounts bigint[];
              keep_s bigint[] := '{}';
              keep_a bigint[] := '{}';
              used bigint := 0;
              t bigint;
              i int;
              freed bigint := 0;
            BEGIN
              INSERT INTO rate_windows (vault_key_id) VALUES (p_key) ON CONFLICT (vault_key_id) DO NOTHING;
              SELECT token_stamps, token_amounts INTO stamps, amounts FROM rate_windows WHERE vault_key_id = p_key FOR UPDATE;
              t := GREATEST((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, COALESCE(stamps[cardinality(stamps)], 0) + 1);
              FOR i IN 1 .. COALESCE(cardinality(stamps), 0) LOOP
                IF stamps[i] > t - p_window_us THEN
                  keep_s := keep_s || stamps[i];
                  keep_a := keep_a || amounts[i];
                  used := used + amounts[i];
                END IF;
              END LOOP;
              IF used + p_tokens <= p_limit THEN
                UPDATE rate_windows SET token_stamps = keep_s || t, token_amounts = keep_a || p_tokens WHERE vault_key_id = p_key;
                RETURN ARRAY[0, t];
              END IF;
              UPDATE rate_windows SET token_stamps = keep_s, token_amounts = keep_a WHERE vault_key_id = p_key;
              -- the wait: until enough of the oldest calls have left the window
              FOR i IN 1 .. COALESCE(cardinality(keep_s), 0) LOOP
                freed := freed + keep_a[i];
                IF used - freed + p_tokens <= p_limit THEN
                  RETURN ARRAY[GREATEST(1, (keep_s[i] + p_window_us - t + 999) / 1000), 0];
                END IF;
              END LOOP;
              RETURN ARRAY[p_window_us / 1000, 0];
            END $$`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP FUNCTION keyvault_token_admit(text, bigint, bigint, bigint)`);
        await queryRunner.query(`ALTER TABLE "rate_windows" DROP COLUMN "token_amounts"`);
        await queryRunner.query(`ALTER TABLE "rate_windows" DROP COLUMN "token_stamps"`);
        await queryRunner.query(`ALTER TABLE "vault_keys" DROP COLUMN "max_tokens_per_minute"`);
    }
}
