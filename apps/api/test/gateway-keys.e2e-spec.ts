import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';

/** The api's gateway-key routes: scopes, validation, tenant scoping, revocation. */
describe('gateway keys api', () => {
  let api: ApiHarness;
  let tenantId: string;
  let writer: string;
  let reader: string;
  let issuer: string;

  beforeAll(async () => {
    api = await startApi();
    tenantId = (await api.admin().post('/tenants').send({ name: 'Gateways' }).expect(201)).body.id;
    const key = async (scopes: string[]) => (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: scopes.join(','), scopes }).expect(201)).body.api_key as string;
    writer = await key(['credentials:write', 'credentials:read']);
    reader = await key(['credentials:read']);
    issuer = await key(['vault_keys:issue']);
  });
  afterAll(async () => {
    await api?.close();
  });

  const as = (token: string) => ({
    get: (p: string) => api.http.get(p).set('Authorization', `Bearer ${token}`),
    post: (p: string) => api.http.post(p).set('Authorization', `Bearer ${token}`),
    delete: (p: string) => api.http.delete(p).set('Authorization', `Bearer ${token}`),
  });

  it('creates with credentials:write, answers the key once, and lists it without the key with credentials:read', async () => {
    const created = await as(writer).post('/gateway-keys').send({ name: 'dify' }).expect(201);
    expect(Object.keys(created.body)).toEqual(['id', 'object', 'gateway_key', 'name', 'scope', 'last4', 'status', 'created_at', 'revoked_at']);
    expect(created.body).toMatchObject({ object: 'gateway_key', scope: 'gateway', status: 'active', revoked_at: null });
    const got = await as(reader).get(`/gateway-keys/${created.body.id}`).expect(200);
    expect(got.body.gateway_key).toBeUndefined();
    const list = await as(reader).get('/gateway-keys?limit=1').expect(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false });
    expect(JSON.stringify(list.body)).not.toContain(created.body.gateway_key);
  });

  it('refuses other scopes, a missing or unknown field, and another tenant', async () => {
    expect((await as(reader).post('/gateway-keys').send({ name: 'x' }).expect(403)).body.error.code).toBe('insufficient_scope');
    expect((await as(issuer).get('/gateway-keys').expect(403)).body.error.code).toBe('insufficient_scope');
    expect((await as(writer).post('/gateway-keys').send({}).expect(400)).body.error.param).toBe('name');
    await as(writer).post('/gateway-keys').send({ name: 'x', scope: 'admin' }).expect(400);
    const other = (await api.admin().post('/tenants').send({ name: 'Other' }).expect(201)).body.id;
    const theirs = (await api.admin().post('/gateway-keys').set('Keyvault-Tenant', other).send({ name: 'theirs' }).expect(201)).body.id;
    expect((await as(writer).get(`/gateway-keys/${theirs}`).expect(404)).body.error.code).toBe('resource_missing');
    await as(writer).delete(`/gateway-keys/${theirs}`).expect(404);
  });

  it('revokes, idempotently, by DELETE or POST .../revoke', async () => {
    const { id } = (await as(writer).post('/gateway-keys').send({ name: 'to revoke' }).expect(201)).body;
    const first = await as(writer).delete(`/gateway-keys/${id}`).expect(200);
    expect(first.body).toMatchObject({ id, status: 'revoked', revoked_at: expect.any(String) });
    const again = await as(writer).post(`/gateway-keys/${id}/revoke`).expect(200);
    expect(again.body.revoked_at).toBe(first.body.revoked_at);
  });
});
