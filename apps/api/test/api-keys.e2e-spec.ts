import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { providerKey } from './support/credential-fixtures';

describe('tenant API keys', () => {
  let api: ApiHarness;
  let tenantId: string;
  let otherTenantId: string;
  beforeAll(async () => {
    api = await startApi();
    tenantId = (await api.admin().post('/tenants').send({ name: 'Keys Inc' }).expect(201)).body.id;
    otherTenantId = (await api.admin().post('/tenants').send({ name: 'Other Inc' }).expect(201)).body.id;
  });
  afterAll(async () => api?.close());

  const bearer = (k: string) => ({ Authorization: `Bearer ${k}` });

  it('shows the key once at creation, stores only a hash, and authenticates with it', async () => {
    const res = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'backend' }).expect(201);
    expect(res.body).toMatchObject({ object: 'api_key', name: 'backend', tenant: tenantId });
    expect(res.body.id).toMatch(/^tak_/);
    expect(res.body.api_key).toMatch(/^kv_live_[0-9a-z]{58}$/);
    expect(res.body.scopes).toEqual(expect.arrayContaining(['vault_keys:issue', 'audit:read', 'webhooks:write']));

    const list = await api.admin().get(`/tenants/${tenantId}/api-keys`).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(res.body.api_key);
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(res.body.id);

    const rows = await queryDb<{ secret_hash: string }>(api.db.url, 'SELECT secret_hash FROM tenant_api_keys WHERE id = $1', [res.body.id]);
    expect(rows[0].secret_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(rows[0].secret_hash).not.toContain(res.body.api_key);

    const me = await api.http.get('/me').set(bearer(res.body.api_key)).expect(200);
    expect(me.body).toMatchObject({ kind: 'api_key', tenant: tenantId, api_key: res.body.id });
    // a second call is served from the verification cache and still works
    await api.http.get('/me').set(bearer(res.body.api_key)).expect(200);
  });

  it('a deleted key fails on its very next use', async () => {
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'temp' }).expect(201);
    await api.http.get('/me').set(bearer(k.api_key)).expect(200);
    const del = await api.admin().delete(`/tenants/${tenantId}/api-keys/${k.id}`).expect(200);
    expect(del.body).toEqual({ id: k.id, object: 'api_key', deleted: true });
    const res = await api.http.get('/me').set(bearer(k.api_key)).expect(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('a deleted key fails on its very next issuance too, where the issue statement confirms the key', async () => {
    // POST /vault/keys skips the guard's row read for a key it verified before
    // (@ApiKeyConfirmedByHandler); the insert itself checks the row in the same round trip
    await api.admin().post('/credentials').set('Keyvault-Tenant', tenantId).send({ name: 'issue_openai', vendor: 'openai', keys: [providerKey()] }).expect(201);
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'issuer' }).expect(201);
    const issue = (label: string, idempotencyKey?: string) => {
      const t = api.http.post('/vault/keys').set(bearer(k.api_key));
      if (idempotencyKey) t.set('Idempotency-Key', idempotencyKey);
      return t.send({ vendor: 'openai', daily_usd_cap: 1, allowed_endpoints: ['POST /v1/chat/completions'], expires_in: '30m', label });
    };
    await issue('before-1').expect(201);
    await issue('before-2').expect(201); // from the remembered verification
    await issue('before-idem', 'idem-deleted-key').expect(201);
    await api.admin().delete(`/tenants/${tenantId}/api-keys/${k.id}`).expect(200);

    const res = await issue('after-delete').expect(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    await issue('after-delete').expect(401); // and it stays refused (nothing remembered any more)
    // a replay of an Idempotency-Key answers before any handler: it gets the guard's row read
    const replay = await issue('before-idem', 'idem-deleted-key').expect(401);
    expect(replay.headers['idempotent-replayed']).toBeUndefined();
    const rows = await queryDb<{ label: string }>(api.db.url, 'SELECT label FROM vault_keys WHERE tenant_id = $1 ORDER BY id', [tenantId]);
    expect(rows.map((r) => r.label)).toEqual(['before-1', 'before-2', 'before-idem']);
  });

  it('refuses a key with a tampered secret', async () => {
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'tamper' }).expect(201);
    const last = k.api_key.slice(-1) === 'a' ? 'b' : 'a';
    await api.http.get('/me').set(bearer(k.api_key.slice(0, -1) + last)).expect(401);
  });

  it('keeps admin routes to the admin (403 admin_only)', async () => {
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'nosy' }).expect(201);
    const res = await api.http.get('/tenants').set(bearer(k.api_key)).expect(403);
    expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'admin_only' });
  });

  it('validates scopes', async () => {
    const res = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'x', scopes: ['vault_keys:everything'] }).expect(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'scopes' });
    const ok = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'issuer', scopes: ['vault_keys:issue'] }).expect(201);
    expect(ok.body.scopes).toEqual(['vault_keys:issue']);
    const me = await api.http.get('/me').set(bearer(ok.body.api_key)).expect(200);
    expect(me.body.scopes).toEqual(['vault_keys:issue']);
  });

  it("another tenant's key ids answer 404", async () => {
    const { body: k } = await api.admin().post(`/tenants/${otherTenantId}/api-keys`).send({ name: 'theirs' }).expect(201);
    const res = await api.admin().delete(`/tenants/${tenantId}/api-keys/${k.id}`).expect(404);
    expect(res.body.error.code).toBe('resource_missing');
    await api.http.get('/me').set(bearer(k.api_key)).expect(200);
  });

  it('the admin acts inside a tenant with Keyvault-Tenant, and an unknown tenant is a 404', async () => {
    const me = await api.admin().get('/me').set('Keyvault-Tenant', tenantId).expect(200);
    expect(me.body).toMatchObject({ kind: 'admin', tenant: tenantId });
    const res = await api.admin().get('/me').set('Keyvault-Tenant', 'ten_00000000000000000000000000').expect(404);
    expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'Keyvault-Tenant' });
  });
});
