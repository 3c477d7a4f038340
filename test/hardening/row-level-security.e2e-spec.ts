import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions, withTenant } from '@keyvault/db';
import { startApi, type ApiHarness } from '../harness/api';

/** Every table the policies cover. */
const TENANT_TABLES = [
  'vault_keys', 'credential_profiles', 'credential_keys', 'tenant_api_keys', 'audit_log',
  'webhooks', 'webhook_events', 'webhook_deliveries', 'vault_key_spend', 'spend_reservations',
];

describe('Postgres row-level security, the second wall between tenants', () => {
  let api: ApiHarness;
  let db: DataSource;
  const t = { a: '', b: '' };

  /** A tenant with one row in every table the api fills (through the api where it can). */
  async function populated(name: string): Promise<string> {
    const id = (await api.admin().post('/tenants').send({ name }).expect(201)).body.id as string;
    await api.admin().post(`/tenants/${id}/api-keys`).send({ name: 'k' }).expect(201);
    const cred = (await api.admin().post('/credentials').set('Keyvault-Tenant', id).send({ name: 'p', vendor: 'openai', keys: [`sk-rls-${name}-0123456789`] }).expect(201)).body.id;
    const vk = (
      await api
        .admin()
        .post('/vault/keys')
        .set('Keyvault-Tenant', id)
        .send({ vendor: 'openai', credential: cred, daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' })
        .expect(201)
    ).body.id;
    await api.admin().post('/webhooks').set('Keyvault-Tenant', id).send({ url: 'http://127.0.0.1:9/hook', events: ['vault_key.revoked'] }).expect(201);
    // revoking enqueues a webhook event and a delivery; the proxy's rows are written directly
    await api.admin().delete(`/vault/keys/${vk}`).set('Keyvault-Tenant', id).expect(200);
    await db.query(`INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos) VALUES ($1, current_date, $2, 5)`, [vk, id]);
    await db.query(
      `INSERT INTO spend_reservations (id, tenant_id, vault_key_id, day, instance_id, amount_nanos) VALUES ($1, $2, $3, current_date, 'i', 1)`,
      [`sr_${name}`, id, vk],
    );
    await db.query(`INSERT INTO audit_log (id, tenant_id, vault_key_id, vendor, method, path, status, duration_ms) VALUES ($1, $2, $3, 'openai', 'POST', '/v1/x', 200, 1)`, [
      `aud_${name}`, id, vk,
    ]);
    return id;
  }

  beforeAll(async () => {
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    // the test's own connection is the superuser `postgres`, as the api's is: RLS binds it only through withTenant
    db = await new DataSource(dataSourceOptions({ url: api.db.url, poolSize: 2 })).initialize();
    t.a = await populated('a');
    t.b = await populated('b');
  });
  afterAll(async () => {
    await db?.destroy();
    await api?.close();
  });

  it('shows a transaction of tenant A only A\'s rows, in every tenant-owned table, with no filter at all', async () => {
    for (const table of TENANT_TABLES) {
      const all: { tenant_id: string }[] = await db.query(`SELECT tenant_id FROM ${table}`);
      expect(new Set(all.map((r) => r.tenant_id)), table).toEqual(new Set([t.a, t.b]));
      const seen: { tenant_id: string }[] = await withTenant(db, t.a, (m) => m.query(`SELECT * FROM ${table}`));
      expect(seen.length, table).toBeGreaterThan(0);
      expect(new Set(seen.map((r) => r.tenant_id)), table).toEqual(new Set([t.a]));
    }
  });

  it("refuses to write B's tenant_id from inside A, and cannot touch B's rows", async () => {
    await expect(
      withTenant(db, t.a, (m) =>
        m.query(
          `INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_nanos, allowed_endpoints, expires_at)
           VALUES ('vk_planted', $1, 'cred_x', 'openai', 1, '{}', now() + interval '1 hour')`,
          [t.b],
        ),
      ),
    ).rejects.toMatchObject({ driverError: { code: '42501' } });
    const [, updated] = await withTenant(db, t.a, (m) => m.query(`UPDATE vault_keys SET label = 'hijacked' WHERE tenant_id = $1`, [t.b]));
    const [, deleted] = await withTenant(db, t.a, (m) => m.query(`DELETE FROM audit_log WHERE tenant_id = $1`, [t.b]));
    expect([updated, deleted]).toEqual([0, 0]);
    // moving one's own row to the other tenant is refused too
    await expect(withTenant(db, t.a, (m) => m.query(`UPDATE webhooks SET tenant_id = $1`, [t.b]))).rejects.toMatchObject({ driverError: { code: '42501' } });
    expect(await db.query(`SELECT 1 FROM vault_keys WHERE label = 'hijacked' OR id = 'vk_planted'`)).toEqual([]);
    expect((await db.query(`SELECT 1 FROM audit_log WHERE tenant_id = $1`, [t.b])).length).toBe(1);
  });

  it('reads nothing when no tenant is named, and nothing outside the tenant tables', async () => {
    const none = await db.transaction(async (m) => {
      await m.query(`SET LOCAL ROLE keyvault_tenant`);
      return m.query('SELECT * FROM vault_keys');
    });
    expect(none).toEqual([]);
    await expect(withTenant(db, t.a, (m) => m.query('SELECT * FROM tenants'))).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(withTenant(db, t.a, (m) => m.query('SELECT * FROM signing_keys'))).rejects.toMatchObject({ driverError: { code: '42501' } });
  });

  it('gives the pooled connection back as it came: the role and the tenant last one transaction', async () => {
    await withTenant(db, t.a, (m) => m.query('SELECT 1'));
    for (let i = 0; i < 4; i++) {
      const [row] = await db.query(`SELECT current_user AS who, current_setting('keyvault.tenant_id', true) AS tenant`);
      expect(row.who).toBe('postgres');
      expect(row.tenant ?? '').toBe('');
    }
  });

  it("serves the api's tenant-scoped lists and reads through it, each with its own tenant's data", async () => {
    for (const [tenant, other] of [[t.a, t.b], [t.b, t.a]]) {
      for (const path of ['/vault/keys', '/credentials', '/audit', '/webhooks']) {
        const res = await api.admin().get(path).set('Keyvault-Tenant', tenant).expect(200);
        expect(res.body.data.length, path).toBeGreaterThan(0);
        expect(JSON.stringify(res.body), path).not.toContain(other);
      }
      const [wh] = (await api.admin().get('/webhooks').set('Keyvault-Tenant', tenant).expect(200)).body.data;
      expect((await api.admin().get(`/webhooks/${wh.id}/deliveries`).set('Keyvault-Tenant', tenant).expect(200)).body.data).toHaveLength(1);
    }
  });
});
