import { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1796019812151 implements MigrationInterface {
    name = 'Initial1796019812151'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "audit_log" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C", "vault_key_id" text COLLATE "C", "credential_id" text COLLATE "C", "provider_key_id" text COLLATE "C", "vendor" text NOT NULL, "method" text NOT NULL, "path" text NOT NULL, "status" integer NOT NULL, "error_code" text, "cost_micros" bigint NOT NULL DEFAULT '0', "duration_ms" integer NOT NULL, "run_id" text, "conversation_id" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_07fefa57f7f5ab8fc3f52b3ed0b" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_audit_conversation" ON "audit_log"  ("tenant_id", "conversation_id", "id") WHERE conversation_id IS NOT NULL`);
        await queryRunner.query(`CREATE INDEX "ix_audit_run" ON "audit_log"  ("tenant_id", "run_id", "id") WHERE run_id IS NOT NULL`);
        await queryRunner.query(`CREATE INDEX "ix_audit_vault_key" ON "audit_log"  ("tenant_id", "vault_key_id", "id") `);
        await queryRunner.query(`CREATE INDEX "ix_audit_tenant" ON "audit_log"  ("tenant_id", "id") `);
        await queryRunner.query(`CREATE TABLE "credential_keys" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "credential_id" text COLLATE "C" NOT NULL, "sealed" bytea NOT NULL, "data_key_version" integer NOT NULL, "last4" text NOT NULL, "status" text NOT NULL DEFAULT 'active', "position" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "retired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_aef933cd01f09538e505558279e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_credential_keys_credential" ON "credential_keys"  ("credential_id", "position") `);
        await queryRunner.query(`CREATE TABLE "credential_profiles" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "name" text NOT NULL, "vendor" text NOT NULL, "strategy" text NOT NULL DEFAULT 'round_robin', "base_url" text, "is_default" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_38046287b1aa7c9e5fb1b0e6dbb" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_credential_profiles_default" ON "credential_profiles"  ("tenant_id", "vendor") WHERE is_default AND deleted_at IS NULL`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_credential_profiles_name" ON "credential_profiles"  ("tenant_id", "name") WHERE deleted_at IS NULL`);
        await queryRunner.query(`CREATE TABLE "idempotency_records" ("scope" text COLLATE "C" NOT NULL, "idempotency_key" text NOT NULL, "request_hash" text NOT NULL, "status_code" integer, "response_sealed" bytea, "master_key_id" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c16dcc0ca878b58160e527c80c1" PRIMARY KEY ("scope", "idempotency_key"))`);
        await queryRunner.query(`CREATE TABLE "signing_keys" ("id" text COLLATE "C" NOT NULL, "algorithm" text NOT NULL, "public_key_pem" text NOT NULL, "private_key_sealed" bytea NOT NULL, "master_key_id" text NOT NULL, "status" text NOT NULL DEFAULT 'active', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ab7d78cf6e61dc3904133b4cd55" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "spend_reservations" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "vault_key_id" text COLLATE "C" NOT NULL, "day" date NOT NULL, "instance_id" text NOT NULL, "amount_micros" bigint NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8793df6e93fa09d113f56d3596b" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_spend_reservations_instance" ON "spend_reservations"  ("instance_id") `);
        await queryRunner.query(`CREATE TABLE "tenants" ("id" text COLLATE "C" NOT NULL, "name" text NOT NULL, "slug" text NOT NULL, "max_vault_key_ttl_seconds" integer NOT NULL, "status" text NOT NULL DEFAULT 'active', "data_key_wrapped" bytea NOT NULL, "data_key_master_key_id" text NOT NULL, "data_key_version" integer NOT NULL DEFAULT '1', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_53be67a04681c66b87ee27c9321" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_tenants_slug" ON "tenants"  ("slug") `);
        await queryRunner.query(`CREATE TABLE "tenant_api_keys" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "name" text NOT NULL, "scopes" text array NOT NULL, "secret_hash" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6960ee7301621f71f8cf29c2a6e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_tenant_api_keys_tenant" ON "tenant_api_keys"  ("tenant_id", "id") `);
        await queryRunner.query(`CREATE TABLE "vault_keys" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "credential_id" text COLLATE "C" NOT NULL, "vendor" text NOT NULL, "daily_cap_micros" bigint NOT NULL, "allowed_endpoints" text array NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "label" text, "metadata" jsonb NOT NULL DEFAULT '{}', "revoked_at" TIMESTAMP WITH TIME ZONE, "revoked_reason" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_64ef6bdc10dbbb976a16730007e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_vault_keys_credential" ON "vault_keys"  ("credential_id") `);
        await queryRunner.query(`CREATE INDEX "ix_vault_keys_label" ON "vault_keys"  ("tenant_id", "label") `);
        await queryRunner.query(`CREATE INDEX "ix_vault_keys_tenant" ON "vault_keys"  ("tenant_id", "id") `);
        await queryRunner.query(`CREATE TABLE "vault_key_spend" ("vault_key_id" text COLLATE "C" NOT NULL, "day" date NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "spent_micros" bigint NOT NULL DEFAULT '0', "reserved_micros" bigint NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_dd8180e667541d85071c1b29fbc" PRIMARY KEY ("vault_key_id", "day"))`);
        await queryRunner.query(`CREATE TABLE "webhooks" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "url" text NOT NULL, "events" text array NOT NULL, "threshold_pct" integer NOT NULL DEFAULT '80', "secret_sealed" bytea NOT NULL, "data_key_version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_9e8795cfc899ab7bdaa831e8527" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhooks_tenant" ON "webhooks"  ("tenant_id", "id") `);
        await queryRunner.query(`CREATE TABLE "webhook_deliveries" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "webhook_id" text COLLATE "C" NOT NULL, "event_id" text COLLATE "C" NOT NULL, "status" text NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_attempt_at" TIMESTAMP WITH TIME ZONE, "last_status_code" integer, "last_error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_webhook" ON "webhook_deliveries"  ("webhook_id", "id") `);
        await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_due" ON "webhook_deliveries"  ("next_attempt_at") WHERE status = 'pending'`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_webhook_deliveries_event" ON "webhook_deliveries"  ("webhook_id", "event_id") `);
        await queryRunner.query(`CREATE TABLE "webhook_events" ("id" text COLLATE "C" NOT NULL, "tenant_id" text COLLATE "C" NOT NULL, "type" text NOT NULL, "dedupe_key" text, "payload" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4cba37e6a0acb5e1fc49c34ebfd" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_webhook_events_dedupe" ON "webhook_events"  ("dedupe_key") `);
        await queryRunner.query(`CREATE INDEX "ix_webhook_events_tenant" ON "webhook_events"  ("tenant_id", "id") `);
        // Not expressible as an entity index: GIN over metadata for `metadata[k]=v` filters.
        await queryRunner.query(`CREATE INDEX "ix_vault_keys_metadata" ON "vault_keys" USING gin ("metadata" jsonb_path_ops)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."ix_vault_keys_metadata"`);
        await queryRunner.query(`DROP INDEX "public"."ix_webhook_events_tenant"`);
        await queryRunner.query(`DROP INDEX "public"."uq_webhook_events_dedupe"`);
        await queryRunner.query(`DROP TABLE "webhook_events"`);
        await queryRunner.query(`DROP INDEX "public"."uq_webhook_deliveries_event"`);
        await queryRunner.query(`DROP INDEX "public"."ix_webhook_deliveries_due"`);
        await queryRunner.query(`DROP INDEX "public"."ix_webhook_deliveries_webhook"`);
        await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
        await queryRunner.query(`DROP INDEX "public"."ix_webhooks_tenant"`);
        await queryRunner.query(`DROP TABLE "webhooks"`);
        await queryRunner.query(`DROP TABLE "vault_key_spend"`);
        await queryRunner.query(`DROP INDEX "public"."ix_vault_keys_tenant"`);
        await queryRunner.query(`DROP INDEX "public"."ix_vault_keys_label"`);
        await queryRunner.query(`DROP INDEX "public"."ix_vault_keys_credential"`);
        await queryRunner.query(`DROP TABLE "vault_keys"`);
        await queryRunner.query(`DROP INDEX "public"."ix_tenant_api_keys_tenant"`);
        await queryRunner.query(`DROP TABLE "tenant_api_keys"`);
        await queryRunner.query(`DROP INDEX "public"."uq_tenants_slug"`);
        await queryRunner.query(`DROP TABLE "tenants"`);
        await queryRunner.query(`DROP INDEX "public"."ix_spend_reservations_instance"`);
        await queryRunner.query(`DROP TABLE "spend_reservations"`);
        await queryRunner.query(`DROP TABLE "signing_keys"`);
        await queryRunner.query(`DROP TABLE "idempotency_records"`);
        await queryRunner.query(`DROP INDEX "public"."uq_credential_profiles_name"`);
        await queryRunner.query(`DROP INDEX "public"."uq_credential_profiles_default"`);
        await queryRunner.query(`DROP TABLE "credential_profiles"`);
        await queryRunner.query(`DROP INDEX "public"."ix_credential_keys_credential"`);
        await queryRunner.query(`DROP TABLE "credential_keys"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_tenant"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_vault_key"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_run"`);
        await queryRunner.query(`DROP INDEX "public"."ix_audit_conversation"`);
        await queryRunner.query(`DROP TABLE "audit_log"`);
    }

}
