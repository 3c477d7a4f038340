import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyvault/testing';
import { dataSourceOptions } from './data-source-options';
import { MIGRATIONS } from './migrations';
import { CallRecordsTable1797123000000 } from './migrations/1797123000000-CallRecordsTable';

/** A database migrated up to just before call_records, with calls in flight as audit rows of status 0. */
describe('the call-records migration', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const open = (migrations: unknown[]) => new DataSource({ ...dataSourceOptions({ url: db.url, poolSize: 2 }), migrations: migrations as never }).initialize();
  const at = MIGRATIONS.indexOf(CallRecordsTable1797123000000);

  it('moves the calls in flight out of audit_log into call_records, leaves every other row, and moves them back down', async () => {
    const old = await open(MIGRATIONS.slice(0, at));
    try {
      await old.runMigrations();
      await old.query(`INSERT INTO tenants (id, name, slug, max_vault_key_ttl_seconds, data_key_wrapped, data_key_master_key_id) VALUES ('ten_1', 'T', 't', 60, '\\x00', 'mk')`);
      await old.query(
        `INSERT INTO audit_log (id, tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status, error_code, cost_nanos, duration_ms,
                                run_id, conversation_id, lease_id, reserved_nanos, budget_lease_ids, created_at)
         VALUES ('aud_1', 'ten_1', 'vk_1', 'cred_1', NULL, 'openai', 'POST', '/v1/chat/completions', 0, NULL, 0, 0, 'run-1', 'conv-1', 'lease_1', 9600, '{blease_1}', '2026-12-07T10:00:00Z'),
                ('aud_2', 'ten_1', 'vk_1', 'cred_1', 'ck_1', 'openai', 'POST', '/v1/chat/completions', 200, NULL, 3600, 5, NULL, NULL, 'lease_1', 9600, NULL, '2026-12-07T10:00:01Z'),
                ('aud_3', 'ten_1', 'vk_1', 'cred_1', NULL, 'openai', 'POST', '/v1/chat/completions', 0, 'interrupted', 9600, 0, NULL, NULL, 'lease_1', 9600, NULL, '2026-12-07T10:00:02Z'),
                ('aud_4', 'ten_1', 'vk_1', NULL, NULL, 'openai', 'POST', '/v1/chat/completions', 401, 'vault_key_revoked', 0, 1, NULL, NULL, NULL, NULL, NULL, '2026-12-07T10:00:03Z')`,
      );
    } finally {
      await old.destroy();
    }

    const current = await open(MIGRATIONS.slice(0, at + 1));
    try {
      expect((await current.runMigrations()).map((m) => m.name)).toEqual(['CallRecordsTable1797123000000']);
      expect(await current.query(`SELECT id, status, error_code FROM audit_log ORDER BY id`)).toEqual([
        { id: 'aud_2', status: 200, error_code: null },
        { id: 'aud_3', status: 0, error_code: 'interrupted' },
        { id: 'aud_4', status: 401, error_code: 'vault_key_revoked' },
      ]);
      const records = await current.query(
        `SELECT id, tenant_id, vault_key_id, credential_id, run_id, conversation_id, lease_id, reserved_nanos::text AS reserved, budget_lease_ids, created_at FROM call_records`,
      );
      expect(records).toEqual([
        {
          id: 'aud_1', tenant_id: 'ten_1', vault_key_id: 'vk_1', credential_id: 'cred_1', run_id: 'run-1', conversation_id: 'conv-1',
          lease_id: 'lease_1', reserved: '9600', budget_lease_ids: ['blease_1'], created_at: new Date('2026-12-07T10:00:00Z'),
        },
      ]);

      await current.undoLastMigration();
      expect(await current.query(`SELECT id, status, reserved_nanos::text AS reserved, lease_id FROM audit_log WHERE id = 'aud_1'`)).toEqual([
        { id: 'aud_1', status: 0, reserved: '9600', lease_id: 'lease_1' },
      ]);
      expect(await current.query(`SELECT to_regclass('call_records') AS t`)).toEqual([{ t: null }]);
    } finally {
      await current.destroy();
    }
  });
});
