import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { dataSourceOptions } from './data-source-options';
import { MIGRATIONS } from './migrations';
import { NanoDollars1796532401065 } from './migrations/1796532401065-NanoDollars';

/** A database migrated up to just before the nano-dollar migration, holding micro-dollar rows. */
describe('the nano-dollar migration', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const open = (migrations: unknown[]) => new DataSource({ ...dataSourceOptions({ url: db.url, poolSize: 2 }), migrations: migrations as never }).initialize();

  it('converts every stored amount (micros × 1000) and the outbox payloads, and back', async () => {
    const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(NanoDollars1796532401065));
    const old = await open(before);
    try {
      await old.runMigrations();
      await old.query(`INSERT INTO tenants (id, name, slug, max_vault_key_ttl_seconds, data_key_wrapped, data_key_master_key_id) VALUES ('ten_1', 'T', 't', 60, '\\x00', 'mk')`);
      await old.query(`INSERT INTO credential_profiles (id, tenant_id, name, vendor, strategy) VALUES ('cred_1', 'ten_1', 'p', 'openai', 'round_robin')`);
      await old.query(
        `INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_micros, allowed_endpoints, expires_at) VALUES ('vk_1', 'ten_1', 'cred_1', 'openai', 12340000, '{"POST /v1/x"}', now())`,
      );
      await old.query(`INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_micros, reserved_micros) VALUES ('vk_1', '2026-11-30', 'ten_1', 4, 7)`);
      await old.query(`INSERT INTO spend_reservations (id, tenant_id, vault_key_id, day, instance_id, amount_micros) VALUES ('lease_1', 'ten_1', 'vk_1', '2026-11-30', 'i', 7)`);
      await old.query(
        `INSERT INTO audit_log (id, tenant_id, vendor, method, path, status, cost_micros, duration_ms) VALUES ('aud_1', 'ten_1', 'openai', 'POST', '/v1/x', 200, 4, 1), ('aud_2', 'ten_1', 'openai', 'POST', '/v1/x', 401, 0, 1)`,
      );
      await old.query(
        `INSERT INTO webhook_events (id, tenant_id, type, payload) VALUES ('evt_1', 'ten_1', 'vault_key.cap_reached', '{"vault_key_id": "vk_1", "day": "2026-11-30", "daily_usd_cap_micros": "12340000", "spent_micros": "12340001"}')`,
      );
    } finally {
      await old.destroy();
    }

    // up to the nano-dollar migration and no further, so that undoing the last one undoes it
    const current = await open(MIGRATIONS.slice(0, MIGRATIONS.indexOf(NanoDollars1796532401065) + 1));
    try {
      expect((await current.runMigrations()).map((m) => m.name)).toEqual(['NanoDollars1796532401065']);
      const one = async (sql: string) => (await current.query(sql))[0];
      expect(await one(`SELECT daily_cap_nanos::text AS v FROM vault_keys`)).toEqual({ v: '12340000000' });
      expect(await one(`SELECT spent_nanos::text AS s, reserved_nanos::text AS r FROM vault_key_spend`)).toEqual({ s: '4000', r: '7000' });
      expect(await one(`SELECT amount_nanos::text AS v FROM spend_reservations`)).toEqual({ v: '7000' });
      expect(await current.query(`SELECT cost_nanos::text AS v FROM audit_log ORDER BY id`)).toEqual([{ v: '4000' }, { v: '0' }]);
      expect((await one(`SELECT payload FROM webhook_events`)).payload).toEqual({
        vault_key_id: 'vk_1', day: '2026-11-30', daily_usd_cap_nanos: '12340000000', spent_nanos: '12340001000',
      });

      // and down again: the same micro-dollars
      await current.undoLastMigration();
      expect(await one(`SELECT spent_micros::text AS s, reserved_micros::text AS r FROM vault_key_spend`)).toEqual({ s: '4', r: '7' });
      expect((await one(`SELECT payload FROM webhook_events`)).payload).toMatchObject({ daily_usd_cap_micros: '12340000', spent_micros: '12340001' });
      expect(await one(`SELECT daily_cap_micros::text AS v FROM vault_keys`)).toEqual({ v: '12340000' });
    } finally {
      await current.destroy();
    }
  });
});
