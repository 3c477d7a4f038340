import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '@keyvault/db';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { apiKey, insertVaultKey, listen, providerKey, tenantWithKey, type TenantWithKeys } from './support/credential-fixtures';

interface KeyView {
  id: string;
  last4: string;
  status: string;
}

describe('credential profiles', () => {
  let api: ApiHarness;
  let a: TenantWithKeys;
  let b: TenantWithKeys;
  beforeAll(async () => {
    api = await startApi();
    a = await tenantWithKey(api, 'Client A');
    b = await tenantWithKey(api, 'Client B');
  });
  afterAll(async () => api?.close());

  const create = (t: TenantWithKeys, body: Record<string, unknown>) => t.as('post', '/credentials').send(body);

  it('creates a profile, answers with last4 only, and makes the vendor’s first profile its default', async () => {
    const keys = [providerKey(), providerKey()];
    const res = await create(a, { name: 'client_a_openai', vendor: 'openai', keys }).expect(201);
    expect(res.body).toMatchObject({
      object: 'credential',
      name: 'client_a_openai',
      vendor: 'openai',
      strategy: 'round_robin',
      base_url: null,
      default: true,
    });
    expect(res.body.id).toMatch(/^cred_[0-9a-z]{26}$/);
    expect(res.body.keys).toHaveLength(2);
    res.body.keys.forEach((k: KeyView & { created_at: string }, i: number) => {
      expect(k.id).toMatch(/^ck_[0-9a-z]{26}$/);
      expect(k).toMatchObject({ last4: keys[i].slice(-4), status: 'active' });
      expect(Date.parse(k.created_at)).not.toBeNaN();
    });
    for (const key of keys) expect(JSON.stringify(res.body)).not.toContain(key);
    const rows = await queryDb<{ sealed: Buffer; last4: string }>(api.db.url, 'SELECT sealed, last4 FROM credential_keys WHERE credential_id = $1', [res.body.id]);
    for (const row of rows) for (const key of keys) expect(row.sealed.includes(Buffer.from(key))).toBe(false);
  });

  it('reads a profile by id and by name, and lists with a vendor filter and cursor paging', async () => {
    const { body: created } = await create(a, { name: 'client_a_stripe', vendor: 'stripe', keys: [providerKey('sk_test_')] }).expect(201);
    expect((await a.as('get', `/credentials/${created.id}`).expect(200)).body).toEqual(created);
    expect((await a.as('get', '/credentials/client_a_stripe').expect(200)).body).toEqual(created);

    const stripe = await a.as('get', '/credentials?vendor=stripe').expect(200);
    expect(stripe.body).toMatchObject({ object: 'list', has_more: false });
    expect(stripe.body.data.map((c: { id: string }) => c.id)).toEqual([created.id]);

    const page1 = await a.as('get', '/credentials?limit=1').expect(200);
    expect(page1.body.has_more).toBe(true);
    expect(page1.body.data[0].id).toBe(created.id); // newest first
    const page2 = await a.as('get', `/credentials?limit=1&starting_after=${created.id}`).expect(200);
    expect(page2.body.data[0].name).toBe('client_a_openai');
    expect(page2.body.data[0].keys).toHaveLength(2);
  });

  it('patches name, strategy and base_url, and tells the proxy', async () => {
    const notices = await listen(api.db.url, CHANNELS.credentials);
    try {
      const { body: c } = await create(a, { name: 'patch_me', vendor: 'anthropic', keys: [providerKey('sk-ant-')] }).expect(201);
      const res = await a.as('patch', `/credentials/${c.id}`).send({ name: 'patched', strategy: 'failover' }).expect(200);
      expect(res.body).toMatchObject({ id: c.id, name: 'patched', strategy: 'failover', default: true });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(c.updated_at));
      await notices.next((p) => (p as { credential_id?: string }).credential_id === c.id); // the create
      await notices.next((p) => (p as { credential_id?: string }).credential_id === c.id); // the patch
      await a.as('get', '/credentials/patch_me').expect(404);
      await a.as('get', '/credentials/patched').expect(200);
    } finally {
      await notices.close();
    }
  });

  it('keeps at most one default per vendor, switching it in one step', async () => {
    const first = (await create(a, { name: 'twilio_one', vendor: 'twilio', keys: [providerKey('AC')] }).expect(201)).body;
    const second = (await create(a, { name: 'twilio_two', vendor: 'twilio', keys: [providerKey('AC')] }).expect(201)).body;
    expect([first.default, second.default]).toEqual([true, false]);

    const third = (await create(a, { name: 'twilio_three', vendor: 'twilio', keys: [providerKey('AC')], default: true }).expect(201)).body;
    expect(third.default).toBe(true);
    expect((await a.as('get', '/credentials/twilio_one').expect(200)).body.default).toBe(false);

    expect((await a.as('patch', '/credentials/twilio_two').send({ default: true }).expect(200)).body.default).toBe(true);
    const defaults = await queryDb<{ name: string }>(api.db.url, `SELECT name FROM credential_profiles WHERE tenant_id = $1 AND vendor = 'twilio' AND is_default`, [a.id]);
    expect(defaults.map((d) => d.name)).toEqual(['twilio_two']);

    // another tenant's default for the same vendor is its own business
    expect((await create(b, { name: 'twilio_b', vendor: 'twilio', keys: [providerKey('AC')] }).expect(201)).body.default).toBe(true);

    expect((await a.as('patch', '/credentials/twilio_two').send({ default: false }).expect(200)).body.default).toBe(false);
    // with no default left, the next profile of the vendor takes the role
    expect((await create(a, { name: 'twilio_four', vendor: 'twilio', keys: [providerKey('AC')] }).expect(201)).body.default).toBe(true);
    // an explicit false is kept
    expect((await create(a, { name: 'resend_off', vendor: 'resend', keys: [providerKey('re_')], default: false }).expect(201)).body.default).toBe(false);
  });

  it('refuses a name already in use with 409 credential_name_taken, on create and on rename', async () => {
    await create(a, { name: 'taken', vendor: 'openai', keys: [providerKey()] }).expect(201);
    const dup = await create(a, { name: 'taken', vendor: 'anthropic', keys: [providerKey()] }).expect(409);
    expect(dup.body.error).toMatchObject({ type: 'invalid_request_error', code: 'credential_name_taken', param: 'name' });
    const rename = await a.as('patch', '/credentials/client_a_stripe').send({ name: 'taken' }).expect(409);
    expect(rename.body.error).toMatchObject({ code: 'credential_name_taken', param: 'name' });
    // names are per tenant
    await create(b, { name: 'taken', vendor: 'openai', keys: [providerKey()] }).expect(201);
  });

  describe('provider keys', () => {
    it('rotates without downtime: add the new key, retire the old one', async () => {
      const oldKey = providerKey();
      const { body: c } = await create(a, { name: 'rotating', vendor: 'openai', keys: [oldKey] }).expect(201);
      const notices = await listen(api.db.url, CHANNELS.credentials);
      try {
        const newKey = providerKey();
        const added = await a.as('post', `/credentials/${c.id}/keys`).send({ key: newKey }).expect(201);
        expect(added.body.keys.map((k: KeyView) => [k.last4, k.status])).toEqual([
          [oldKey.slice(-4), 'active'],
          [newKey.slice(-4), 'active'],
        ]);
        expect(JSON.stringify(added.body)).not.toContain(newKey);
        await notices.next((p) => (p as { credential_id?: string }).credential_id === c.id);

        const retired = await a.as('delete', `/credentials/${c.id}/keys/${c.keys[0].id}`).expect(200);
        expect(retired.body.keys.map((k: KeyView) => [k.id, k.status])).toEqual([
          [c.keys[0].id, 'retired'],
          [added.body.keys[1].id, 'active'],
        ]);
        expect(retired.body.keys[0].retired_at).toEqual(expect.any(String));
        await notices.next((p) => (p as { credential_id?: string }).credential_id === c.id);
        // retiring twice changes nothing
        await a.as('delete', `/credentials/${c.id}/keys/${c.keys[0].id}`).expect(200);
      } finally {
        await notices.close();
      }
    });

    it('refuses to retire the last active key with 409 credential_key_last', async () => {
      const { body: c } = await create(a, { name: 'single', vendor: 'openai', keys: [providerKey()] }).expect(201);
      const res = await a.as('delete', `/credentials/${c.id}/keys/${c.keys[0].id}`).expect(409);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'credential_key_last' });
      expect((await a.as('get', `/credentials/${c.id}`).expect(200)).body.keys[0].status).toBe('active');
    });

    it('answers 404 for a key of another profile', async () => {
      const { body: one } = await create(a, { name: 'keys_one', vendor: 'openai', keys: [providerKey(), providerKey()] }).expect(201);
      const { body: two } = await create(a, { name: 'keys_two', vendor: 'openai', keys: [providerKey(), providerKey()] }).expect(201);
      const res = await a.as('delete', `/credentials/${one.id}/keys/${two.keys[0].id}`).expect(404);
      expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'key_id' });
    });

    it('holds at most 20 active keys (409 credential_key_limit)', async () => {
      const keys = Array.from({ length: 20 }, () => providerKey());
      const { body: c } = await create(a, { name: 'full', vendor: 'openai', keys }).expect(201);
      const res = await a.as('post', `/credentials/${c.id}/keys`).send({ key: providerKey() }).expect(409);
      expect(res.body.error).toMatchObject({ code: 'credential_key_limit', param: 'key' });
      await a.as('delete', `/credentials/${c.id}/keys/${c.keys[0].id}`).expect(200);
      const added = await a.as('post', `/credentials/${c.id}/keys`).send({ key: providerKey() }).expect(201);
      expect(added.body.keys).toHaveLength(21);
    });
  });

  describe('deleting', () => {
    it('refuses while active vault keys use the profile, and counts only active ones', async () => {
      const { body: c } = await create(a, { name: 'in_use', vendor: 'openai', keys: [providerKey()] }).expect(201);
      await insertVaultKey(api.db.url, { tenantId: a.id, credentialId: c.id, revoked: true });
      await insertVaultKey(api.db.url, { tenantId: a.id, credentialId: c.id, expiresInSeconds: -60 });
      const active = await insertVaultKey(api.db.url, { tenantId: a.id, credentialId: c.id });
      const res = await a.as('delete', `/credentials/${c.id}`).expect(409);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'credential_in_use' });
      expect(res.body.error.message).toContain('1 active vault key');
      await a.as('get', `/credentials/${c.id}`).expect(200);
      const [row] = await queryDb<{ revoked_at: Date | null }>(api.db.url, 'SELECT revoked_at FROM vault_keys WHERE id = $1', [active]);
      expect(row.revoked_at).toBeNull();
    });

    it('revokes them in the same step with ?revoke_vault_keys=true', async () => {
      const { body: c } = await create(a, { name: 'revoke_with', vendor: 'openai', keys: [providerKey()] }).expect(201);
      const vk1 = await insertVaultKey(api.db.url, { tenantId: a.id, credentialId: c.id });
      const vk2 = await insertVaultKey(api.db.url, { tenantId: a.id, credentialId: c.id });
      const notices = await listen(api.db.url, CHANNELS.vaultKeys);
      try {
        const res = await a.as('delete', `/credentials/${c.id}?revoke_vault_keys=true`).expect(200);
        expect(res.body).toEqual({ id: c.id, object: 'credential', deleted: true, revoked_vault_keys: 2 });
        const rows = await queryDb<{ id: string; revoked_reason: string }>(api.db.url, 'SELECT id, revoked_reason FROM vault_keys WHERE id = ANY($1) ORDER BY id', [[vk1, vk2]]);
        expect(rows.map((r) => r.revoked_reason)).toEqual(['credential_deleted', 'credential_deleted']);
        const notice = (await notices.next(() => true)) as { vault_key_ids: string[] };
        expect(notice.vault_key_ids.sort()).toEqual([vk1, vk2].sort());
      } finally {
        await notices.close();
      }
    });

    it('soft-deletes: 404 afterwards, keys retired, the name free again, the proxy told', async () => {
      const { body: c } = await create(a, { name: 'to_delete', vendor: 'openai', keys: [providerKey()] }).expect(201);
      const notices = await listen(api.db.url, CHANNELS.credentials);
      try {
        const res = await a.as('delete', '/credentials/to_delete').expect(200);
        expect(res.body).toEqual({ id: c.id, object: 'credential', deleted: true, revoked_vault_keys: 0 });
        await notices.next((p) => (p as { credential_id?: string }).credential_id === c.id);
      } finally {
        await notices.close();
      }
      await a.as('get', `/credentials/${c.id}`).expect(404);
      await a.as('delete', `/credentials/${c.id}`).expect(404);
      const [row] = await queryDb<{ deleted_at: Date | null }>(api.db.url, 'SELECT deleted_at FROM credential_profiles WHERE id = $1', [c.id]);
      expect(row.deleted_at).not.toBeNull();
      const keys = await queryDb<{ status: string }>(api.db.url, 'SELECT status FROM credential_keys WHERE credential_id = $1', [c.id]);
      expect(keys.map((k) => k.status)).toEqual(['retired']);
      const list = await a.as('get', '/credentials?limit=100').expect(200);
      expect(list.body.data.map((x: { id: string }) => x.id)).not.toContain(c.id);
      await create(a, { name: 'to_delete', vendor: 'openai', keys: [providerKey()] }).expect(201);
    });
  });

  describe('access', () => {
    it('a credentials:read key reads but cannot write (403 insufficient_scope)', async () => {
      const reader = await apiKey(api, a.id, ['credentials:read']);
      const as = { Authorization: `Bearer ${reader}` };
      await api.http.get('/credentials').set(as).expect(200);
      await api.http.get('/credentials/client_a_openai').set(as).expect(200);
      const denied = [
        api.http.post('/credentials').set(as).send({ name: 'nope', vendor: 'openai', keys: [providerKey()] }),
        api.http.patch('/credentials/client_a_openai').set(as).send({ strategy: 'failover' }),
        api.http.post('/credentials/client_a_openai/keys').set(as).send({ key: providerKey() }),
        api.http.delete('/credentials/client_a_openai/keys/ck_00000000000000000000000000').set(as),
        api.http.delete('/credentials/client_a_openai').set(as),
      ];
      for (const call of denied) {
        const res = await call.expect(403);
        expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_scope' });
      }
    });

    it('a key without credentials scopes cannot read either', async () => {
      const issuer = await apiKey(api, a.id, ['vault_keys:issue']);
      const res = await api.http.get('/credentials').set('Authorization', `Bearer ${issuer}`).expect(403);
      expect(res.body.error.code).toBe('insufficient_scope');
    });

    it("another tenant's ids and names answer 404 resource_missing", async () => {
      const { body: theirs } = await create(b, { name: 'b_private', vendor: 'openai', keys: [providerKey(), providerKey()] }).expect(201);
      const calls = [
        a.as('get', `/credentials/${theirs.id}`),
        a.as('get', '/credentials/b_private'),
        a.as('patch', `/credentials/${theirs.id}`).send({ strategy: 'failover' }),
        a.as('post', `/credentials/${theirs.id}/keys`).send({ key: providerKey() }),
        a.as('delete', `/credentials/${theirs.id}/keys/${theirs.keys[0].id}`),
        a.as('delete', `/credentials/${theirs.id}?revoke_vault_keys=true`),
      ];
      for (const call of calls) {
        const res = await call.expect(404);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
      }
      const list = await a.as('get', '/credentials?limit=100').expect(200);
      expect(list.body.data.map((c: { id: string }) => c.id)).not.toContain(theirs.id);
      const still = await b.as('get', `/credentials/${theirs.id}`).expect(200);
      expect(still.body).toEqual(theirs);
    });

    it('the admin acts inside a tenant with Keyvault-Tenant, and needs it', async () => {
      const res = await api.admin().get('/credentials').expect(400);
      expect(res.body.error).toMatchObject({ code: 'tenant_required' });
      const inA = await api.admin().get('/credentials/client_a_openai').set('Keyvault-Tenant', a.id).expect(200);
      expect(inA.body.name).toBe('client_a_openai');
      await api.admin().get('/credentials/client_a_openai').set('Keyvault-Tenant', b.id).expect(404);
    });
  });

  describe('validation', () => {
    const good = () => ({ name: 'valid_name', vendor: 'openai', keys: [providerKey()] });
    const secretInBody = providerKey();
    it.each([
      [{ name: undefined }, 'name', 'parameter_invalid'],
      [{ name: '' }, 'name', 'parameter_invalid'],
      [{ name: 'has space' }, 'name', 'parameter_invalid'],
      [{ name: 'x'.repeat(101) }, 'name', 'parameter_invalid'],
      [{ name: 'cred_01jd8x0000000000000000000a' }, 'name', 'parameter_invalid'],
      [{ vendor: 'openia' }, 'vendor', 'parameter_invalid'],
      [{ keys: [] }, 'keys', 'parameter_invalid'],
      [{ keys: 'sk-not-an-array' }, 'keys', 'parameter_invalid'],
      [{ keys: Array.from({ length: 21 }, () => providerKey()) }, 'keys', 'parameter_invalid'],
      [{ keys: ['short'] }, 'keys', 'parameter_invalid'],
      [{ keys: [`${secretInBody} trailing`] }, 'keys', 'parameter_invalid'],
      [{ keys: [`${secretInBody}\n`] }, 'keys', 'parameter_invalid'],
      [{ keys: [12345678901] }, 'keys', 'parameter_invalid'],
      [{ keys: ['k'.repeat(4097)] }, 'keys', 'parameter_invalid'],
      [{ keys: [secretInBody, secretInBody] }, 'keys', 'parameter_invalid'],
      [{ strategy: 'random' }, 'strategy', 'parameter_invalid'],
      [{ default: 'yes' }, 'default', 'parameter_invalid'],
      [{ base_url: 42 }, 'base_url', 'parameter_invalid'],
      [{ colour: 'red' }, 'colour', 'parameter_unknown'],
      [{ vendor: 'openai_compatible' }, 'base_url', 'parameter_missing'],
    ])('%j → 400 on %s', async (override, param, code) => {
      const res = await create(a, { ...good(), ...override }).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
      expect(res.text).not.toContain(secretInBody);
    });

    it.each([
      [{ name: null }, 'name'],
      [{ strategy: null }, 'strategy'],
      [{ default: null }, 'default'],
      [{ vendor: 'anthropic' }, 'vendor'],
      [{ keys: ['abc'] }, 'keys'],
    ])('PATCH %j → 400 on %s', async (body, param) => {
      const res = await a.as('patch', '/credentials/client_a_openai').send(body).expect(400);
      expect(res.body.error.param).toBe(param);
    });

    it('a bad added key is a 400 that does not echo it', async () => {
      const bad = `${providerKey()} x`;
      const res = await a.as('post', '/credentials/client_a_openai/keys').send({ key: bad }).expect(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'key' });
      expect(res.text).not.toContain(bad.split(' ')[0]);
    });

    it('base_url: null clears the override of a vendor profile', async () => {
      const res = await a.as('patch', '/credentials/client_a_openai').send({ base_url: null }).expect(200);
      expect(res.body.base_url).toBeNull();
    });

    it('a bad list filter or delete flag is a 400', async () => {
      expect((await a.as('get', '/credentials?vendor=nope').expect(400)).body.error.param).toBe('vendor');
      expect((await a.as('delete', '/credentials/client_a_openai?revoke_vault_keys=maybe').expect(400)).body.error.param).toBe('revoke_vault_keys');
    });
  });

  describe('idempotency', () => {
    it('replays the first create for the same key and body, and refuses another body', async () => {
      const body = { name: 'idem', vendor: 'openai', keys: [providerKey()] };
      const first = await create(a, body).set('Idempotency-Key', 'cred-idem-1').expect(201);
      const again = await create(a, body).set('Idempotency-Key', 'cred-idem-1').expect(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      const rows = await queryDb(api.db.url, `SELECT id FROM credential_profiles WHERE tenant_id = $1 AND name = 'idem'`, [a.id]);
      expect(rows).toHaveLength(1);
      const other = await create(a, { ...body, keys: [providerKey()] }).set('Idempotency-Key', 'cred-idem-1').expect(409);
      expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused' });
      // the stored replay holds no plaintext either
      const [rec] = await queryDb<{ response_sealed: Buffer; request_hash: string }>(
        api.db.url,
        `SELECT response_sealed, request_hash FROM idempotency_records WHERE idempotency_key = 'cred-idem-1'`,
      );
      expect(rec.response_sealed.includes(Buffer.from(body.keys[0]))).toBe(false);
      expect(rec.request_hash).not.toContain(body.keys[0]);
    });
  });

  it('documents the routes in OpenAPI without an example provider key', async () => {
    const doc = (await api.http.get('/openapi.json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/credentials', '/credentials/{id}', '/credentials/{id}/keys', '/credentials/{id}/keys/{key_id}', '/tenants/{id}/rotate-data-key']),
    );
    const { CreateCredentialDto: create, AddCredentialKeyDto: add } = doc.components.schemas;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'vendor', 'keys']));
    expect(create.properties.keys).toMatchObject({ type: 'array', writeOnly: true });
    expect(create.properties.keys.example).toBeUndefined();
    expect(add.properties.key.example).toBeUndefined();
  });
});
