import { randomBytes } from 'node:crypto';
import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDb, startTcpRelay, type TcpRelay } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../harness/api';
import { eventually } from '../harness/wait';

/**
 * The api between itself and Postgres has a TCP relay the test cuts: every open connection
 * dies, new ones are dropped at once. (The proxy's side of the same fault is proven in
 * apps/proxy/test/outage.e2e-spec.ts.) Nothing here stops the machine's shared Postgres.
 */
describe('the api when its database goes away', () => {
  let relay: TcpRelay;
  let api: ApiHarness;
  let tenantId: string;
  let apiKey: string;
  let credentialId: string;
  let vaultKeyId: string;
  let callsUnderFault = 0;

  const providerKey = () => `sk-outage-${randomBytes(16).toString('hex')}`;
  const asTenant = (t: request.Test) => t.set('Authorization', `Bearer ${apiKey}`);
  const asAdminIn = (t: request.Test) => t.set('Keyvault-Tenant', tenantId);
  /** One write and one read of each kind, as the admin, as the admin in the tenant, and as a tenant API key. */
  const calls: Record<string, () => request.Test> = {
    'POST /tenants': () => api.admin().post('/tenants').send({ name: 'During outage' }),
    'PATCH /tenants/{id}': () => api.admin().patch(`/tenants/${tenantId}`).send({ name: 'Renamed' }),
    'POST /credentials': () => asAdminIn(api.admin().post('/credentials')).send({ name: `c_${randomBytes(4).toString('hex')}`, vendor: 'openai', keys: [providerKey()] }),
    'POST /credentials/{id}/keys': () => asTenant(api.http.post(`/credentials/${credentialId}/keys`)).send({ key: providerKey() }),
    'POST /vault/keys': () =>
      asTenant(api.http.post('/vault/keys')).send({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' }),
    'POST /vault/keys (Idempotency-Key)': () =>
      asTenant(api.http.post('/vault/keys'))
        .set('Idempotency-Key', 'outage-1')
        .send({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' }),
    'POST /vault/keys/revoke': () => asTenant(api.http.post('/vault/keys/revoke')).send({ label: 'nothing-has-this-label' }),
    'POST /tenants/{id}/api-keys': () => api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'during outage' }),
    'GET /tenants': () => api.admin().get('/tenants'),
    'GET /credentials': () => asTenant(api.http.get('/credentials')),
    'GET /credentials/{id}': () => asAdminIn(api.admin().get(`/credentials/${credentialId}`)),
    'GET /vault/keys': () => asTenant(api.http.get('/vault/keys')),
    'GET /vault/keys/{id}': () => asTenant(api.http.get(`/vault/keys/${vaultKeyId}`)),
    'GET /audit': () => asTenant(api.http.get('/audit')),
    'GET /audit/export': () => asTenant(api.http.get('/audit/export?format=jsonl')),
    'GET /webhooks': () => asTenant(api.http.get('/webhooks')),
    'GET /me': () => asTenant(api.http.get('/me')),
  };

  beforeAll(async () => {
    relay = await startTcpRelay();
    api = await startApi({ KEYVAULT_WEBHOOK_POLL_INTERVAL_MS: '50' }, { connectVia: (url) => relay.through(url) });
    tenantId = (await api.admin().post('/tenants').send({ name: 'Outage' }).expect(201)).body.id;
    apiKey = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'backend' }).expect(201)).body.api_key;
    credentialId = (await asTenant(api.http.post('/credentials')).send({ name: 'outage_openai', vendor: 'openai', keys: [providerKey()] }).expect(201)).body.id;
    vaultKeyId = (await calls['POST /vault/keys']().expect(201)).body.id;
  });
  afterAll(async () => {
    await api?.close();
    await relay?.close();
    console.info(`api outage: ${callsUnderFault} calls answered while the database was cut, none with a 500 or a hang`);
  });

  it('answers 503 vault_unavailable to reads and writes, never a 500 or a hang, and recovers without a restart', async () => {
    const names = Object.keys(calls);
    // traffic before: everything served
    for (const name of names.filter((n) => !n.includes('Idempotency'))) expect([200, 201], name).toContain((await calls[name]()).status);

    // the database disappears in the middle of traffic: each answer is a success or a 503
    const inFlight = names.flatMap((name) => [calls[name](), calls[name]()].map((t) => t.then((res) => ({ name, res }))));
    relay.cut();
    for (const { name, res } of await Promise.all(inFlight)) {
      callsUnderFault++;
      expect([200, 201, 503], `${name} → ${res.status} ${res.text}`).toContain(res.status);
      if (res.status === 503) expect(res.body.error, name).toMatchObject({ type: 'api_error', code: 'vault_unavailable' });
    }

    // while it is gone: every call that needs it is a 503 with the contract's body, both rounds
    for (let round = 0; round < 2; round++) {
      for (const name of names) {
        const res = await calls[name]();
        callsUnderFault++;
        expect(res.status, `${name} → ${res.status} ${res.text}`).toBe(503);
        expect(res.body.error).toMatchObject({ type: 'api_error', code: 'vault_unavailable' });
        expect(res.body.error.error_id).toBeUndefined();
      }
    }
    // liveness stays up, readiness says why
    expect((await api.http.get('/healthz')).status).toBe(200);
    expect((await api.http.get('/readyz')).status).toBe(503);
    // a wrong key is still a 503, not a 401: the api cannot tell while the database is away
    const forged = await api.http.get('/vault/keys').set('Authorization', `Bearer kv_live_${'a'.repeat(58)}`);
    callsUnderFault++;
    expect(forged.status).toBe(503);

    // back: no restart, the pool reconnects by itself
    relay.restore();
    await eventually(async () => (await calls['GET /vault/keys']()).status === 200, 'recovery', 15_000);
    for (const name of names) expect([200, 201], `${name} after recovery`).toContain((await calls[name]()).status);
    // the idempotency key used during the outage was never claimed: it works now, and replays
    const first = await calls['POST /vault/keys (Idempotency-Key)']();
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBe('true');
    expect((await api.http.get('/readyz')).status).toBe(200);
  });

  it('lets a retry through when a request died holding its Idempotency-Key (the database went away before it could release it)', async () => {
    const body = { vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '1h' };
    const retry = () => asTenant(api.http.post('/vault/keys')).set('Idempotency-Key', 'orphaned-1').send(body);
    const [{ request_hash }] = await queryDb<{ request_hash: string }>(api.db.url, `SELECT encode(sha256($1::bytea), 'hex') AS request_hash`, [
      Buffer.from(`POST /vault/keys\n${JSON.stringify(body)}`),
    ]);
    // what a request cut off between its claim and its answer leaves behind
    const orphan = async (age: string) =>
      queryDb(api.db.url, `INSERT INTO idempotency_records (scope, idempotency_key, request_hash, created_at) VALUES ($1, 'orphaned-1', $2, now() - $3::interval)`, [
        tenantId, request_hash, age,
      ]);
    await orphan('5 seconds');
    // still possibly running: refused as in progress
    expect((await retry()).body.error?.code).toBe('idempotency_key_in_use');
    await queryDb(api.db.url, `DELETE FROM idempotency_records WHERE idempotency_key = 'orphaned-1'`);
    await orphan('2 minutes');
    const res = await retry();
    expect(res.status).toBe(201);
    expect((await retry()).headers['idempotent-replayed']).toBe('true');
  });
});
