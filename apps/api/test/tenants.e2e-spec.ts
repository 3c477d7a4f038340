import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';

describe('tenants (admin)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  it('creates a tenant with defaults and reads it back', async () => {
    const res = await api.admin().post('/tenants').send({ name: 'Client A' }).expect(201);
    expect(res.body).toMatchObject({ object: 'tenant', name: 'Client A', status: 'active', max_vault_key_ttl: '30d' });
    expect(res.body.id).toMatch(/^ten_[0-9a-z]{26}$/);
    expect(res.body.slug).toMatch(/^client-a-/);
    const got = await api.admin().get(`/tenants/${res.body.id}`).expect(200);
    expect(got.body).toEqual(res.body);
  });

  it('patches name, slug and max ttl', async () => {
    const { body: t } = await api.admin().post('/tenants').send({ name: 'Patch me', slug: 'patch-me' }).expect(201);
    const res = await api.admin().patch(`/tenants/${t.id}`).send({ name: 'Patched', max_vault_key_ttl: '7d' }).expect(200);
    expect(res.body).toMatchObject({ name: 'Patched', slug: 'patch-me', max_vault_key_ttl: '7d' });
  });

  it('refuses a taken slug with 409 slug_taken', async () => {
    await api.admin().post('/tenants').send({ name: 'One', slug: 'same-slug' }).expect(201);
    const res = await api.admin().post('/tenants').send({ name: 'Two', slug: 'same-slug' }).expect(409);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'slug_taken', param: 'slug' });
  });

  it('disables and enables', async () => {
    const { body: t } = await api.admin().post('/tenants').send({ name: 'Toggle' }).expect(201);
    expect((await api.admin().post(`/tenants/${t.id}/disable`).expect(200)).body.status).toBe('disabled');
    expect((await api.admin().post(`/tenants/${t.id}/enable`).expect(200)).body.status).toBe('active');
  });

  it('lists newest first with cursor paging', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await api.admin().post('/tenants').send({ name: `Page ${i}` }).expect(201)).body.id);
    const first = await api.admin().get('/tenants?limit=2').expect(200);
    expect(first.body).toMatchObject({ object: 'list', has_more: true });
    expect(first.body.data.map((t: { id: string }) => t.id)).toEqual([created[4], created[3]]);
    const second = await api.admin().get(`/tenants?limit=2&starting_after=${created[3]}`).expect(200);
    expect(second.body.data.map((t: { id: string }) => t.id)).toEqual([created[2], created[1]]);
  });

  it('answers 404 resource_missing for an unknown tenant', async () => {
    const res = await api.admin().get('/tenants/ten_00000000000000000000000000').expect(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
    for (const action of ['disable', 'enable']) {
      const r = await api.admin().post(`/tenants/ten_00000000000000000000000000/${action}`).expect(404);
      expect(r.body.error.code).toBe('resource_missing');
    }
  });

  describe('validation', () => {
    it.each([
      [{}, 'name', 'parameter_invalid'],
      [{ name: '' }, 'name', 'parameter_invalid'],
      [{ name: 'x', slug: 'Bad Slug' }, 'slug', 'parameter_invalid'],
      [{ name: 'x', max_vault_key_ttl: '30 days' }, 'max_vault_key_ttl', 'parameter_invalid'],
      [{ name: 'x', colour: 'red' }, 'colour', 'parameter_unknown'],
    ])('%j → 400 on %s', async (body, param, code) => {
      const res = await api.admin().post('/tenants').send(body).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    });

    it('malformed JSON is a 400 invalid_json', async () => {
      const res = await api
        .admin()
        .post('/tenants')
        .set('Content-Type', 'application/json')
        .send('{"name": ')
        .expect(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_json' });
    });

    it('limit out of range is a 400 with param', async () => {
      const res = await api.admin().get('/tenants?limit=500').expect(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'limit' });
    });
  });

  describe('authentication', () => {
    it('refuses a missing or wrong token with 401 invalid_api_key', async () => {
      expect((await api.http.get('/tenants').expect(401)).body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
      const wrong = await api.http.get('/tenants').set('Authorization', 'Bearer not-the-admin-token').expect(401);
      expect(wrong.body.error.code).toBe('invalid_api_key');
    });
  });

  describe('idempotency', () => {
    it('replays the first result for the same key and body', async () => {
      const a = await api.admin().post('/tenants').set('Idempotency-Key', 'create-acme').send({ name: 'Acme' }).expect(201);
      const b = await api.admin().post('/tenants').set('Idempotency-Key', 'create-acme').send({ name: 'Acme' }).expect(201);
      expect(b.body).toEqual(a.body);
      expect(b.headers['idempotent-replayed']).toBe('true');
      const list = await api.admin().get('/tenants?limit=100').expect(200);
      expect(list.body.data.filter((t: { name: string }) => t.name === 'Acme')).toHaveLength(1);
    });

    it('answers 409 idempotency_key_reused for another body', async () => {
      await api.admin().post('/tenants').set('Idempotency-Key', 'k-2').send({ name: 'First' }).expect(201);
      const res = await api.admin().post('/tenants').set('Idempotency-Key', 'k-2').send({ name: 'Second' }).expect(409);
      expect(res.body.error).toMatchObject({ code: 'idempotency_key_reused', type: 'invalid_request_error' });
    });

    it('does not remember a failed request', async () => {
      await api.admin().post('/tenants').set('Idempotency-Key', 'k-3').send({ name: 'Dup', slug: 'dup-slug' }).expect(201);
      await api.admin().post('/tenants').set('Idempotency-Key', 'k-4').send({ name: 'Dup2', slug: 'dup-slug' }).expect(409);
      const retry = await api.admin().post('/tenants').set('Idempotency-Key', 'k-4').send({ name: 'Dup2', slug: 'dup-slug' }).expect(409);
      expect(retry.body.error.code).toBe('slug_taken');
    });
  });

  describe('health and docs', () => {
    it('serves healthz, readyz, metrics and openapi without credentials', async () => {
      expect((await api.http.get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
      expect((await api.http.get('/readyz').expect(200)).body.status).toBe('ok');
      expect((await api.http.get('/metrics').expect(200)).text).toContain('keyvault_http_request_duration_seconds');
      const doc = (await api.http.get('/openapi.json').expect(200)).body;
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toContain('/tenants');
    });
  });
});
