import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoles } from '@keyvault/db';
import { queryDb, TEST_SERVER_URL } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../harness/api';

/**
 * A `DATABASE_URL` deployment as the docs describe it: the login owns the database but is no
 * superuser and may not create roles; `npm run db:roles` ran once as one that may. Migrations
 * then run as that login, and the api serves as keyvault_api, not as the owner.
 */
describe('npm run db:roles and an owner login that is no superuser', () => {
  const login = `kv_owner_${randomBytes(4).toString('hex')}`;
  const database = `kv_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let api: ApiHarness;
  let first: string[];
  let second: string[];

  const ownerUrl = () => {
    const u = new URL(TEST_SERVER_URL);
    u.username = login;
    u.password = '';
    u.pathname = `/${database}`;
    return u.toString();
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: TEST_SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${login} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${login}`);
    first = await ensureRoles(admin, login);
    second = await ensureRoles(admin, login);
    api = await startApi({}, { database: { url: ownerUrl(), name: database, drop: async () => undefined } });
  });
  afterAll(async () => {
    await api?.app.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${login}`);
    await admin.end();
  });

  it('lets the login switch to every role, and changes nothing when run again', async () => {
    expect(first).toContain(`${login} may switch to keyvault_api: granted`);
    for (const role of ['keyvault_api', 'keyvault_worker', 'keyvault_proxy', 'keyvault_tenant']) {
      // keyvault_worker comes with keyvault_api (its member)
      expect(first.some((l) => l.startsWith(`${login} may switch to ${role}: `)), role).toBe(true);
      expect(second).toContain(`${login} may switch to ${role}: already`);
      expect((await admin.query(`SELECT pg_has_role($1, $2, 'MEMBER') AS m`, [login, role])).rows[0].m, role).toBe(true);
    }
    expect(second.filter((l) => /created|granted/.test(l))).toEqual([]);
  });

  it('migrates as the owner login and serves as keyvault_api, which owns nothing', async () => {
    const owners: { owner: string }[] = await queryDb(
      api.db.url.replace(`${login}@`, 'postgres@'),
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`,
    );
    expect(owners).toEqual([{ owner: login }]);
    expect(await api.app.get(DataSource).query('SELECT current_user AS who, session_user AS login')).toEqual([{ who: 'keyvault_api', login }]);
  });

  it('serves tenants, credentials and vault keys through it', async () => {
    const tenant = (await api.admin().post('/tenants').send({ name: 'Owned' }).expect(201)).body.id;
    const cred = (await api.admin().post('/credentials').set('Keyvault-Tenant', tenant).send({ name: 'p', vendor: 'openai', keys: ['sk-owner-0123456789'] }).expect(201)).body.id;
    const key = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'backend' }).expect(201)).body;
    const vk = await api.http
      .post('/vault/keys')
      .set('Authorization', `Bearer ${key.api_key}`)
      .send({ vendor: 'openai', credential: cred, daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' })
      .expect(201);
    expect((await api.admin().get('/vault/keys').set('Keyvault-Tenant', tenant).expect(200)).body.data.map((k: { id: string }) => k.id)).toEqual([vk.body.id]);
  });
});
