import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aad, MasterKeyring, open, unwrapTenantDataKey } from '@keyvault/crypto';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';

/** A public address as an IP literal: accepted without any DNS lookup, and never sent to here (no events). */
const PUBLIC_URL = 'https://8.8.8.8/keyvault-hooks';

describe('webhooks', () => {
  let api: ApiHarness;
  let tenant: string;
  let other: string;
  let key: string;
  let otherKey: string;

  const as = (k: string) => ({
    get: (p: string) => api.http.get(p).set('Authorization', `Bearer ${k}`),
    post: (p: string) => api.http.post(p).set('Authorization', `Bearer ${k}`),
    delete: (p: string) => api.http.delete(p).set('Authorization', `Bearer ${k}`),
  });

  beforeAll(async () => {
    // private targets refused (the default); a slow poll: this file never enqueues an event
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'false', KEYVAULT_WEBHOOK_POLL_INTERVAL_MS: '60000' });
    tenant = (await api.admin().post('/tenants').send({ name: 'Hooked' }).expect(201)).body.id;
    other = (await api.admin().post('/tenants').send({ name: 'Other' }).expect(201)).body.id;
    key = (await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'ops', scopes: ['webhooks:write'] }).expect(201)).body.api_key;
    otherKey = (await api.admin().post(`/tenants/${other}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;
  });
  afterAll(async () => {
    // nothing was ever owed to the public address above
    expect(await queryDb(api.db.url, 'SELECT 1 FROM webhook_deliveries')).toHaveLength(0);
    await api?.close();
  });

  it('creates a webhook and shows its secret once, stored sealed under the tenant key', async () => {
    const res = await as(key).post('/webhooks').send({ url: PUBLIC_URL, events: ['vault_key.cap_threshold', 'vault_key.revoked'] }).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^whk_[0-9a-z]{26}$/),
      object: 'webhook',
      kind: 'signed',
      url: PUBLIC_URL,
      to: null,
      events: ['vault_key.cap_threshold', 'vault_key.revoked'],
      threshold_pct: 80,
      secret: expect.stringMatching(/^whsec_[0-9a-z]{32}$/),
      created_at: expect.any(String),
    });
    const { id, secret } = res.body;

    const one = await as(key).get(`/webhooks/${id}`).expect(200);
    expect(one.body).toEqual({ ...res.body, secret: undefined });
    expect(one.body).not.toHaveProperty('secret');
    const list = await as(key).get('/webhooks').expect(200);
    expect(list.body.data.map((w: { id: string }) => w.id)).toContain(id);
    expect(JSON.stringify(list.body) + JSON.stringify(one.body)).not.toContain(secret);

    const [row] = await queryDb<{ secret_sealed: Buffer; data_key_version: number }>(api.db.url, 'SELECT secret_sealed, data_key_version FROM webhooks WHERE id = $1', [id]);
    expect(row.secret_sealed.toString('latin1')).not.toContain(secret);
    expect(row.data_key_version).toBe(1);
    const [t] = await queryDb<{ data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }>(
      api.db.url,
      'SELECT data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1',
      [tenant],
    );
    const dataKey = unwrapTenantDataKey(new MasterKeyring(api.config.KEYVAULT_MASTER_KEY), {
      id: tenant,
      dataKeyWrapped: t.data_key_wrapped,
      dataKeyMasterKeyId: t.data_key_master_key_id,
      dataKeyVersion: t.data_key_version,
    });
    expect(open(dataKey, row.secret_sealed, aad.webhookSecret(tenant, id)).toString('utf8')).toBe(secret);
    // bound to its webhook: under another id it does not open
    expect(() => open(dataKey, row.secret_sealed, aad.webhookSecret(tenant, 'whk_other'))).toThrow();
  });

  it('takes threshold_pct and honours Idempotency-Key (the replay shows the same secret)', async () => {
    const body = { url: PUBLIC_URL, events: ['vault_key.cap_threshold'], threshold_pct: 50 };
    const first = await as(key).post('/webhooks').set('Idempotency-Key', 'hook-1').send(body).expect(201);
    expect(first.body.threshold_pct).toBe(50);
    const again = await as(key).post('/webhooks').set('Idempotency-Key', 'hook-1').send(body).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const reused = await as(key).post('/webhooks').set('Idempotency-Key', 'hook-1').send({ ...body, threshold_pct: 60 }).expect(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
  });

  it.each([
    [{ events: ['vault_key.revoked'] }, 'url'],
    [{ url: PUBLIC_URL }, 'events'],
    [{ url: PUBLIC_URL, events: [] }, 'events'],
    [{ url: PUBLIC_URL, events: ['vault_key.created'] }, 'events'],
    [{ url: PUBLIC_URL, events: ['vault_key.revoked', 'vault_key.revoked'] }, 'events'],
    [{ url: PUBLIC_URL, events: ['vault_key.revoked'], threshold_pct: 0 }, 'threshold_pct'],
    [{ url: PUBLIC_URL, events: ['vault_key.revoked'], threshold_pct: 101 }, 'threshold_pct'],
    [{ url: PUBLIC_URL, events: ['vault_key.revoked'], threshold_pct: 50.5 }, 'threshold_pct'],
    [{ url: PUBLIC_URL, events: ['vault_key.revoked'], secret: 'mine' }, 'secret'],
    [{ kind: 'teams', url: PUBLIC_URL, events: ['vault_key.revoked'] }, 'kind'],
    [{ kind: 'slack', events: ['vault_key.revoked'] }, 'url'],
    [{ kind: 'email', to: ['not-an-address'], events: ['vault_key.revoked'] }, 'to'],
    [{ kind: 'email', to: [], events: ['vault_key.revoked'] }, 'to'],
    [{ url: PUBLIC_URL, to: ['ops@example.com'], events: ['vault_key.revoked'] }, 'to'],
  ])('refuses %j (400, param %s)', async (body, param) => {
    const res = await as(key).post('/webhooks').send(body).expect(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
  });

  it.each([
    'https://127.0.0.1/hook',
    'https://127.1.2.3:8443/hook',
    'https://localhost/hook',
    'https://10.0.0.7/hook',
    'https://172.16.5.4/hook',
    'https://192.168.1.20/hook',
    'https://100.64.0.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://0.0.0.0/hook',
    'https://[::1]/hook',
    'https://[::]/hook',
    'https://[fe80::1]/hook',
    'https://[fd00::1234]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::ffff:a9fe:a9fe]/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
    'http://8.8.8.8/hook',
    'https://user:pass@8.8.8.8/hook',
    'ftp://8.8.8.8/hook',
    'not a url',
  ])('refuses %s with 422 unsafe_url before connecting anywhere', async (url) => {
    const res = await as(key).post('/webhooks').send({ url, events: ['vault_key.revoked'] }).expect(422);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unsafe_url', param: 'url' });
  });

  it('creates a Slack webhook without a secret, under the same URL rules', async () => {
    const slackUrl = 'https://8.8.8.8/services/T000/B000/XXXX';
    const res = await as(key).post('/webhooks').send({ kind: 'slack', url: slackUrl, events: ['vault_key.cap_threshold'] }).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^whk_/),
      object: 'webhook',
      kind: 'slack',
      url: slackUrl,
      to: null,
      events: ['vault_key.cap_threshold'],
      threshold_pct: 80,
      created_at: expect.any(String),
    });
    const refused = await as(key).post('/webhooks').send({ kind: 'slack', url: 'https://169.254.169.254/hooks', events: ['vault_key.revoked'] }).expect(422);
    expect(refused.body.error).toMatchObject({ code: 'unsafe_url', param: 'url' });
  });

  it('refuses an email webhook with 422 smtp_not_configured while no SMTP server is set', async () => {
    const res = await as(key).post('/webhooks').send({ kind: 'email', to: ['ops@example.com'], events: ['vault_key.cap_reached'] }).expect(422);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'smtp_not_configured', param: 'kind' });
  });

  it('deletes softly: gone from the API, kept in the table', async () => {
    const { body: w } = await as(key).post('/webhooks').send({ url: PUBLIC_URL, events: ['vault_key.revoked'] }).expect(201);
    expect((await as(key).delete(`/webhooks/${w.id}`).expect(200)).body).toEqual({ id: w.id, object: 'webhook', deleted: true });
    expect((await as(key).get(`/webhooks/${w.id}`).expect(404)).body.error.code).toBe('resource_missing');
    await as(key).get(`/webhooks/${w.id}/deliveries`).expect(404);
    await as(key).delete(`/webhooks/${w.id}`).expect(404);
    expect((await as(key).get('/webhooks?limit=100').expect(200)).body.data.map((x: { id: string }) => x.id)).not.toContain(w.id);
    const [row] = await queryDb<{ deleted_at: Date | null }>(api.db.url, 'SELECT deleted_at FROM webhooks WHERE id = $1', [w.id]);
    expect(row.deleted_at).toBeInstanceOf(Date);
  });

  it("answers 404 for another tenant's webhook", async () => {
    const { body: w } = await as(key).post('/webhooks').send({ url: PUBLIC_URL, events: ['vault_key.revoked'] }).expect(201);
    await as(otherKey).get(`/webhooks/${w.id}`).expect(404);
    await as(otherKey).get(`/webhooks/${w.id}/deliveries`).expect(404);
    await as(otherKey).delete(`/webhooks/${w.id}`).expect(404);
    expect((await as(otherKey).get('/webhooks').expect(200)).body.data).toEqual([]);
    await as(key).get(`/webhooks/${w.id}`).expect(200);
  });

  it('pages the list newest first', async () => {
    const all = (await as(key).get('/webhooks?limit=100').expect(200)).body.data.map((w: { id: string }) => w.id);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect([...all].sort().reverse()).toEqual(all);
    const page = await as(key).get(`/webhooks?limit=1&starting_after=${all[0]}`).expect(200);
    expect(page.body).toMatchObject({ has_more: true, data: [{ id: all[1] }] });
  });

  it('needs the webhooks:write scope', async () => {
    const { body: reader } = await api.admin().post(`/tenants/${tenant}/api-keys`).send({ name: 'reader', scopes: ['audit:read'] }).expect(201);
    const res = await as(reader.api_key).post('/webhooks').send({ url: PUBLIC_URL, events: ['vault_key.revoked'] }).expect(403);
    expect(res.body.error.code).toBe('insufficient_scope');
    await as(reader.api_key).get('/webhooks').expect(403);
  });
});
