import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acrossTenants, AuditEntry, CredentialKey, dataSourceOptions, scopedStatements, TenantApiKey, VaultKey, Webhook, withTenant,
} from '@keyvault/db';
import { startApi, type ApiHarness } from '../harness/api';

/** Every table the policies cover (the guard below also finds any table with a tenant_id added later). */
const TENANT_TABLES = [
  'vault_keys', 'credential_profiles', 'credential_keys', 'tenant_api_keys', 'audit_log',
  'webhooks', 'webhook_events', 'webhook_deliveries', 'vault_key_spend', 'spend_reservations',
];

describe('Postgres row-level security, the second wall between tenants', () => {
  let api: ApiHarness;
  /** a superuser connection, for setting up and checking what is really stored */
  let db: DataSource;
  /** the api's own DataSource: its connections run as keyvault_api, as in production */
  let apiDb: DataSource;
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
    db = await new DataSource(dataSourceOptions({ url: api.db.url, poolSize: 2 })).initialize();
    apiDb = api.app.get(DataSource);
    t.a = await populated('a');
    t.b = await populated('b');
  });
  afterAll(async () => {
    await db?.destroy();
    await api?.close();
  });

  it("runs the api as keyvault_api, which owns no table, under forced row-level security on every table with a tenant_id", async () => {
    expect(await apiDb.query('SELECT current_user AS who')).toEqual([{ who: 'keyvault_api' }]);
    expect(await db.query(`SELECT relname FROM pg_class WHERE relowner = 'keyvault_api'::regrole`)).toEqual([]);
    // a guard for tables added later: each needs keyvault_secure_tenant_table (migration ApiRoleForcedRowSecurity)
    const unguarded: { relname: string }[] = await db.query(`
      SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
         AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                  AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'api_tenant'))`);
    expect(unguarded).toEqual([]);
    const covered: { n: number }[] = await db.query(`SELECT count(*)::int AS n FROM pg_policy WHERE polname = 'api_tenant' AND polrelid::regclass::text = ANY($1)`, [TENANT_TABLES]);
    expect(covered[0].n).toBe(TENANT_TABLES.length);
  });

  it("shows a transaction of tenant A only A's rows, in every tenant-owned table, with no filter at all", async () => {
    for (const table of TENANT_TABLES) {
      const all: { tenant_id: string }[] = await db.query(`SELECT tenant_id FROM ${table}`);
      expect(new Set(all.map((r) => r.tenant_id)), table).toEqual(new Set([t.a, t.b]));
      const seen: { tenant_id: string }[] = await withTenant(apiDb, t.a, (m) => m.query(`SELECT * FROM ${table}`));
      expect(seen.length, table).toBeGreaterThan(0);
      expect(new Set(seen.map((r) => r.tenant_id)), table).toEqual(new Set([t.a]));
    }
  });

  it("lets a repository query that forgets its tenant filter, inside tenant A, read, update and delete nothing of tenant B", async () => {
    const found = await withTenant(apiDb, t.a, (m) => m.getRepository(VaultKey).find());
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map((k) => k.tenantId))).toEqual(new Set([t.a]));
    expect(await withTenant(apiDb, t.a, (m) => m.getRepository(Webhook).count())).toBe(1);
    expect((await withTenant(apiDb, t.a, (m) => m.getRepository(TenantApiKey).find())).map((k) => k.tenantId)).toEqual([t.a]);

    const updated = await withTenant(apiDb, t.a, (m) => m.getRepository(VaultKey).createQueryBuilder().update().set({ label: 'overwritten' }).execute());
    const deleted = await withTenant(apiDb, t.a, (m) => m.createQueryBuilder().delete().from(AuditEntry).execute());
    expect([updated.affected, deleted.affected]).toEqual([1, 1]); // A's own rows only
    expect(await db.query(`SELECT tenant_id FROM vault_keys WHERE label = 'overwritten'`)).toEqual([{ tenant_id: t.a }]);
    expect(await db.query(`SELECT tenant_id FROM audit_log`)).toEqual([{ tenant_id: t.b }]);
    // deleting B's credential keys by their ids, from inside A, finds none of them
    const bKeys = (await db.query(`SELECT id FROM credential_keys WHERE tenant_id = $1`, [t.b])).map((r: { id: string }) => r.id);
    const gone = await withTenant(apiDb, t.a, (m) => m.getRepository(CredentialKey).delete(bKeys));
    expect(gone.affected).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM credential_keys WHERE tenant_id = $1`, [t.b])).toEqual([{ n: bKeys.length }]);
  });

  it("refuses to write B's tenant_id from inside A, and cannot touch B's rows", async () => {
    await expect(
      withTenant(apiDb, t.a, (m) =>
        m.query(
          `INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_nanos, allowed_endpoints, expires_at)
           VALUES ('vk_planted', $1, 'cred_x', 'openai', 1, '{}', now() + interval '1 hour')`,
          [t.b],
        ),
      ),
    ).rejects.toMatchObject({ driverError: { code: '42501' } });
    const [, updated] = await withTenant(apiDb, t.a, (m) => m.query(`UPDATE vault_keys SET label = 'hijacked' WHERE tenant_id = $1`, [t.b]));
    const [, deleted] = await withTenant(apiDb, t.a, (m) => m.query(`DELETE FROM webhook_events WHERE tenant_id = $1`, [t.b]));
    expect([updated, deleted]).toEqual([0, 0]);
    // moving one's own row to the other tenant is refused too
    await expect(withTenant(apiDb, t.a, (m) => m.query(`UPDATE webhooks SET tenant_id = $1`, [t.b]))).rejects.toMatchObject({ driverError: { code: '42501' } });
    expect(await db.query(`SELECT 1 FROM vault_keys WHERE label = 'hijacked' OR id = 'vk_planted'`)).toEqual([]);
    expect((await db.query(`SELECT 1 FROM webhook_events WHERE tenant_id = $1`, [t.b])).length).toBe(1);
  });

  it('reads and writes nothing of any tenant when no tenant is named, even through a superuser login', async () => {
    for (const table of TENANT_TABLES) expect(await apiDb.query(`SELECT * FROM ${table}`), table).toEqual([]);
    expect((await apiDb.query(`UPDATE vault_keys SET label = 'nobody'`))[1]).toBe(0);
    const none = await db.transaction(async (m) => {
      await m.query(`SET LOCAL ROLE keyvault_api`);
      return m.query('SELECT * FROM vault_keys');
    });
    expect(none).toEqual([]);
    // the superuser connection is confined once it goes through withTenant
    expect(new Set((await withTenant(db, t.b, (m) => m.query('SELECT tenant_id FROM vault_keys'))).map((r: { tenant_id: string }) => r.tenant_id))).toEqual(new Set([t.b]));
  });

  it('crosses tenants only as keyvault_worker, and only in the tables its work needs', async () => {
    const seen: { tenant_id: string }[] = await acrossTenants(apiDb, 'webhook delivery', (m) => m.query('SELECT tenant_id FROM webhook_deliveries'));
    expect(new Set(seen.map((r) => r.tenant_id))).toEqual(new Set([t.a, t.b]));
    for (const sql of ['SELECT * FROM credential_keys', 'SELECT * FROM credential_profiles', "UPDATE vault_keys SET label = 'x'", 'DELETE FROM tenant_api_keys', 'SELECT * FROM signing_keys']) {
      await expect(acrossTenants(apiDb, 'retention', (m) => m.query(sql)), sql).rejects.toMatchObject({ driverError: { code: '42501' } });
    }
  });

  it("confines the hot paths' one-round-trip statements the same way (issuance, the API-key lookup)", async () => {
    const tenantOf = (table: string) => ({ name: `t_${table}`, text: `SELECT tenant_id FROM ${table}`, values: [] });
    const seen = await scopedStatements<{ tenant_id: string }>(apiDb, { tenantId: t.b }, TENANT_TABLES.map(tenantOf));
    seen.forEach((rows, i) => expect(new Set(rows.map((r) => r.tenant_id)), TENANT_TABLES[i]).toEqual(new Set([t.b])));
    // a tenant id cannot break out of its literal
    const [none] = await scopedStatements(apiDb, { tenantId: `x', true), set_config('role', 'postgres` }, [tenantOf('vault_keys')]);
    expect(none).toEqual([]);
    const [keys] = await scopedStatements<{ tenant_id: string }>(apiDb, 'api key lookup', [tenantOf('tenant_api_keys')]);
    expect(new Set(keys.map((r) => r.tenant_id))).toEqual(new Set([t.a, t.b]));
    await expect(scopedStatements(apiDb, 'api key lookup', [tenantOf('credential_keys')])).rejects.toMatchObject({ driverError: { code: '42501' } });
    // values travel as the driver would bind them
    const [[echo]] = await scopedStatements(apiDb, { tenantId: t.a }, [
      { name: 'echo_types', text: 'SELECT $1::text[] AS a, $2::jsonb AS j, $3::timestamptz AS d, $4::text AS n, $5::bigint AS b', values: [["it's", 'a "b"', 'c\\d'], JSON.stringify({ k: "v'" }), new Date(0), null, 12345678901234n] },
    ]);
    expect(echo).toEqual({ a: ["it's", 'a "b"', 'c\\d'], j: { k: "v'" }, d: new Date(0), n: null, b: '12345678901234' });
  });

  it('gives the pooled connection back as it came: the role and the tenant last one transaction', async () => {
    await withTenant(apiDb, t.a, (m) => m.query('SELECT 1'));
    await acrossTenants(apiDb, 'retention', (m) => m.query('SELECT 1'));
    await scopedStatements(apiDb, { tenantId: t.a }, [{ name: 'one', text: 'SELECT 1', values: [] }]);
    await expect(scopedStatements(apiDb, { tenantId: t.a }, [{ name: 'fails', text: 'SELECT 1/0', values: [] }])).rejects.toThrow(/division by zero/);
    await scopedStatements(apiDb, 'api key lookup', [{ name: 'one', text: 'SELECT 1', values: [] }]);
    for (let i = 0; i < 12; i++) {
      const [row] = await apiDb.query(`SELECT current_user AS who, current_setting('keyvault.tenant_id', true) AS tenant`);
      expect(row.who).toBe('keyvault_api');
      expect(row.tenant ?? '').toBe('');
    }
  });

  it("serves the api's tenant-scoped lists and reads through it, each with its own tenant's data", async () => {
    for (const [tenant, other] of [[t.a, t.b], [t.b, t.a]]) {
      for (const path of ['/vault/keys', '/credentials', '/webhooks', `/tenants/${tenant}/api-keys`]) {
        const res = await api.admin().get(path).set('Keyvault-Tenant', tenant).expect(200);
        expect(res.body.data.length, path).toBeGreaterThan(0);
        expect(JSON.stringify(res.body), path).not.toContain(other);
      }
      const [wh] = (await api.admin().get('/webhooks').set('Keyvault-Tenant', tenant).expect(200)).body.data;
      expect((await api.admin().get(`/webhooks/${wh.id}/deliveries`).set('Keyvault-Tenant', tenant).expect(200)).body.data).toHaveLength(1);
    }
  });
});
