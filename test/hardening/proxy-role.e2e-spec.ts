import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleStartupOptions } from '@keyvault/db';
import { loadProxyConfig } from '@keyvault/config';
import { startApi, type ApiHarness } from '../harness/api';

/**
 * The proxy's connections switch to `keyvault_proxy` (migration ProxyRole): it reads keys and
 * credentials and writes spend, leases and audit rows, and nothing else. Checked here through a
 * connection made exactly as the proxy makes its own.
 */
describe("the proxy's database role has the least it needs", () => {
  let api: ApiHarness;
  let proxyDb: Client;
  let tenantId: string;
  let vaultKeyId: string;

  beforeAll(async () => {
    api = await startApi();
    tenantId = (await api.admin().post('/tenants').send({ name: 'Role' }).expect(201)).body.id;
    await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'k' }).expect(201);
    const cred = (await api.admin().post('/credentials').set('Keyvault-Tenant', tenantId).send({ name: 'p', vendor: 'openai', keys: ['sk-role-0123456789'] }).expect(201)).body.id;
    vaultKeyId = (
      await api
        .admin()
        .post('/vault/keys')
        .set('Keyvault-Tenant', tenantId)
        .send({ vendor: 'openai', credential: cred, daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' })
        .expect(201)
    ).body.id;
    const role = loadProxyConfig({ DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: api.config.KEYVAULT_MASTER_KEY }).KEYVAULT_PROXY_DB_ROLE;
    expect(role).toBe('keyvault_proxy');
    proxyDb = new Client({ connectionString: api.db.url, options: roleStartupOptions(role) });
    await proxyDb.connect();
  });
  afterAll(async () => {
    await proxyDb?.end();
    await api?.close();
  });

  const denied = async (sql: string, params: unknown[] = []) => {
    await expect(proxyDb.query(sql, params), sql).rejects.toThrow(/permission denied/);
  };

  it('runs as keyvault_proxy, not as the login that owns the tables', async () => {
    expect((await proxyDb.query('SELECT current_user AS u')).rows[0].u).toBe('keyvault_proxy');
  });

  it('reads keys, credentials and tenants of every tenant (any tenant may call), under forced row-level security', async () => {
    const { rows: forced } = await proxyDb.query(
      `SELECT relname FROM pg_class WHERE relname IN ('vault_keys', 'credential_keys', 'audit_log', 'vault_key_spend') AND relforcerowsecurity ORDER BY 1`,
    );
    expect(forced.map((r) => r.relname)).toEqual(['audit_log', 'credential_keys', 'vault_key_spend', 'vault_keys']);
    const { rows } = await proxyDb.query(
      'SELECT v.id FROM vault_keys v JOIN tenants t ON t.id = v.tenant_id JOIN credential_keys k ON k.credential_id = v.credential_id WHERE v.id = $1',
      [vaultKeyId],
    );
    expect(rows).toHaveLength(1);
  });

  it('writes spend, leases and audit rows', async () => {
    await proxyDb.query(`INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos) VALUES ($1, current_date, $2, 5)`, [vaultKeyId, tenantId]);
    await proxyDb.query(`UPDATE vault_key_spend SET spent_nanos = spent_nanos + 1 WHERE vault_key_id = $1`, [vaultKeyId]);
    await proxyDb.query(`INSERT INTO spend_reservations (id, tenant_id, vault_key_id, day, instance_id, amount_nanos) VALUES ('sr_role', $1, $2, current_date, 'i', 1)`, [
      tenantId, vaultKeyId,
    ]);
    await proxyDb.query(`DELETE FROM spend_reservations WHERE id = 'sr_role'`);
    await proxyDb.query(
      `INSERT INTO audit_log (id, tenant_id, vault_key_id, vendor, method, path, status, duration_ms) VALUES ('aud_role', $1, $2, 'openai', 'POST', '/v1/x', 200, 1) ON CONFLICT DO NOTHING`,
      [tenantId, vaultKeyId],
    );
  });

  it('cannot read API keys or idempotency records, change keys, credentials or tenants, or delete audit rows', async () => {
    await denied('SELECT secret_hash FROM tenant_api_keys');
    await denied('SELECT * FROM idempotency_records');
    await denied('SELECT sealed FROM audit_captures');
    await denied(`UPDATE vault_keys SET revoked_at = NULL WHERE id = $1`, [vaultKeyId]);
    await denied(`UPDATE vault_keys SET daily_cap_nanos = daily_cap_nanos * 1000`);
    await denied(`DELETE FROM vault_keys`);
    await denied(`UPDATE credential_keys SET sealed = sealed`);
    await denied(`UPDATE tenants SET status = 'active'`);
    await denied(`INSERT INTO signing_keys (id) VALUES ('sk_forged')`);
    await denied(`DELETE FROM audit_log`);
    await denied(`DELETE FROM audit_captures`);
    await denied(`DELETE FROM vault_key_spend`);
  });
});
