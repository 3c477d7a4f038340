import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Money moves from integer micro-dollars to integer nano-dollars (issue 18): every money column
 * is renamed `*_nanos` and its rows multiplied by 1,000, so nothing changes in value; the
 * webhook outbox's stored payloads are converted the same way, so events not yet delivered still
 * read right. Written by hand: `migration:generate` would drop and re-add the columns (and lose
 * their rows). Stop every proxy instance before it runs: one still on micro-dollars would book
 * into the renamed columns at a thousandth of the value.
 */
export class NanoDollars1796532401065 implements MigrationInterface {
    name = 'NanoDollars1796532401065'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vault_keys" RENAME COLUMN "daily_cap_micros" TO "daily_cap_nanos"`);
        await queryRunner.query(`UPDATE "vault_keys" SET "daily_cap_nanos" = "daily_cap_nanos" * 1000`);
        await queryRunner.query(`ALTER TABLE "vault_key_spend" RENAME COLUMN "spent_micros" TO "spent_nanos"`);
        await queryRunner.query(`ALTER TABLE "vault_key_spend" RENAME COLUMN "reserved_micros" TO "reserved_nanos"`);
        await queryRunner.query(`UPDATE "vault_key_spend" SET "spent_nanos" = "spent_nanos" * 1000, "reserved_nanos" = "reserved_nanos" * 1000`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" RENAME COLUMN "amount_micros" TO "amount_nanos"`);
        await queryRunner.query(`UPDATE "spend_reservations" SET "amount_nanos" = "amount_nanos" * 1000`);
        await queryRunner.query(`ALTER TABLE "audit_log" RENAME COLUMN "cost_micros" TO "cost_nanos"`);
        // refusals (most rows) cost 0: only the rows that cost something are rewritten
        await queryRunner.query(`UPDATE "audit_log" SET "cost_nanos" = "cost_nanos" * 1000 WHERE "cost_nanos" <> 0`);
        await queryRunner.query(`
            UPDATE "webhook_events"
               SET "payload" = ("payload" - 'daily_usd_cap_micros' - 'spent_micros')
                   || jsonb_build_object('daily_usd_cap_nanos', (("payload"->>'daily_usd_cap_micros')::numeric * 1000)::text,
                                         'spent_nanos', (("payload"->>'spent_micros')::numeric * 1000)::text)
             WHERE "payload" ? 'spent_micros' AND "payload" ? 'daily_usd_cap_micros'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // back to micro-dollars: amounts that are not whole micro-dollars round up (spend never shrinks)
        await queryRunner.query(`
            UPDATE "webhook_events"
               SET "payload" = ("payload" - 'daily_usd_cap_nanos' - 'spent_nanos')
                   || jsonb_build_object('daily_usd_cap_micros', ceil(("payload"->>'daily_usd_cap_nanos')::numeric / 1000)::text,
                                         'spent_micros', ceil(("payload"->>'spent_nanos')::numeric / 1000)::text)
             WHERE "payload" ? 'spent_nanos' AND "payload" ? 'daily_usd_cap_nanos'`);
        await queryRunner.query(`UPDATE "audit_log" SET "cost_nanos" = ceil("cost_nanos" / 1000.0) WHERE "cost_nanos" <> 0`);
        await queryRunner.query(`ALTER TABLE "audit_log" RENAME COLUMN "cost_nanos" TO "cost_micros"`);
        await queryRunner.query(`UPDATE "spend_reservations" SET "amount_nanos" = ceil("amount_nanos" / 1000.0)`);
        await queryRunner.query(`ALTER TABLE "spend_reservations" RENAME COLUMN "amount_nanos" TO "amount_micros"`);
        await queryRunner.query(`UPDATE "vault_key_spend" SET "spent_nanos" = ceil("spent_nanos" / 1000.0), "reserved_nanos" = ceil("reserved_nanos" / 1000.0)`);
        await queryRunner.query(`ALTER TABLE "vault_key_spend" RENAME COLUMN "reserved_nanos" TO "reserved_micros"`);
        await queryRunner.query(`ALTER TABLE "vault_key_spend" RENAME COLUMN "spent_nanos" TO "spent_micros"`);
        await queryRunner.query(`UPDATE "vault_keys" SET "daily_cap_nanos" = "daily_cap_nanos" / 1000`);
        await queryRunner.query(`ALTER TABLE "vault_keys" RENAME COLUMN "daily_cap_nanos" TO "daily_cap_micros"`);
    }

}
