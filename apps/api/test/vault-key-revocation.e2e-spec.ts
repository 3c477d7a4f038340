import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHANNELS } from '@keyvault/db';
import { createdSecrets, queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { createCredentialProfile, type CredentialProfileFixture } from '../../../test/harness/fixtures';
import { NotificationRecorder } from '../../../test/harness/notifications';

const SEED = {
  vendor: 'stripe',
  daily_usd_cap: 100,
  allowed_endpoints: ['POST /v1/payment_intents'],
  expires_in: '2h',
  label: 'dify-chat-42-s1',
};

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('vault key revocation', () => {
  let api: ApiHarness;
  let tenantId: string;
  let apiKey: string;
  let stripe: CredentialProfileFixture;
  let stripeB: CredentialProfileFixture;
  let notices: NotificationRecorder;

  const issue = async (body: Record<string, unknown> = {}, token = apiKey): Promise<{ id: string }> => {
    const res = await api.http.post('/vault/keys').set(bearer(token)).send({ ...SEED, ...body }).expect(201);
    createdSecrets.add(res.body.vault_key);
    return res.body;
  };
  const statusOf = async (id: string) => (await api.http.get(`/vault/keys/${id}`).set(bearer(apiKey)).expect(200)).body.status;
  const revokeMatching = (body: unknown, token = apiKey) => api.http.post('/vault/keys/revoke').set(bearer(token)).send(body as object);
  /** The vault key ids announced to the proxies since the last clear. */
  const announcedIds = async () =>
    ((await notices.received()) as { vault_key_ids?: string[] }[]).flatMap((n) => n.vault_key_ids ?? []).sort();
  const revokedEvents = (ids: string[]) =>
    queryDb<{ tenant_id: string; payload: { vault_key_id: string; reason: string } }>(
      api.db.url,
      `SELECT tenant_id, payload FROM webhook_events WHERE type = 'vault_key.revoked' AND payload->>'vault_key_id' = ANY($1) ORDER BY id`,
      [ids],
    );

  beforeAll(async () => {
    api = await startApi();
    const { body: t } = await api.admin().post('/tenants').send({ name: 'Revoker' }).expect(201);
    tenantId = t.id;
    apiKey = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;
    stripe = await createCredentialProfile(api, tenantId, { name: 'rev_stripe', vendor: 'stripe', isDefault: true });
    stripeB = await createCredentialProfile(api, tenantId, { name: 'rev_stripe_b', vendor: 'stripe' });
    notices = await NotificationRecorder.listen(api.db.url, CHANNELS.vaultKeys);
  });
  afterAll(async () => {
    await notices?.close();
    await api?.close();
  });
  beforeEach(() => notices.clear());

  describe('one key', () => {
    it.each([
      ['DELETE /vault/keys/{id}', (id: string) => api.http.delete(`/vault/keys/${id}`)],
      ['POST /vault/keys/{id}/revoke', (id: string) => api.http.post(`/vault/keys/${id}/revoke`)],
    ])('%s revokes it, tells the proxies and enqueues the webhook event, once', async (_, call) => {
      const key = await issue({ label: 'single' });
      const bystander = await issue({ label: 'single' });

      const res = await call(key.id).set(bearer(apiKey)).expect(200);
      expect(res.body).toMatchObject({ id: key.id, object: 'vault_key', status: 'revoked', revoked_at: expect.any(String) });
      expect(res.body).not.toHaveProperty('vault_key');
      expect(await announcedIds()).toEqual([key.id]);
      expect(await revokedEvents([key.id])).toEqual([
        { tenant_id: tenantId, payload: expect.objectContaining({ vault_key_id: key.id, label: 'single', credential_id: stripe.id }) },
      ]);
      expect(await statusOf(key.id)).toBe('revoked');
      expect(await statusOf(bystander.id)).toBe('active');

      // again: the same answer, and nothing new announced or enqueued
      await notices.clear();
      const again = await call(key.id).set(bearer(apiKey)).expect(200);
      expect(again.body).toMatchObject({ status: 'revoked', revoked_at: res.body.revoked_at });
      expect(await announcedIds()).toEqual([]);
      expect(await revokedEvents([key.id])).toHaveLength(1);
    });

    it('an unknown id is a 404 and announces nothing', async () => {
      const res = await api.http.delete('/vault/keys/vk_00000000000000000000000000').set(bearer(apiKey)).expect(404);
      expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
      expect(await notices.received()).toEqual([]);
    });

    it('an expired key stays expired: nothing to revoke, nothing announced', async () => {
      const key = await issue({ label: 'expired' });
      await queryDb(api.db.url, `UPDATE vault_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, [key.id]);
      const res = await api.http.post(`/vault/keys/${key.id}/revoke`).set(bearer(apiKey)).expect(200);
      expect(res.body).toMatchObject({ id: key.id, status: 'expired', revoked_at: null });
      expect(await notices.received()).toEqual([]);
      expect(await revokedEvents([key.id])).toEqual([]);
    });

    it('records why in revoked_reason', async () => {
      const key = await issue();
      await api.http.delete(`/vault/keys/${key.id}`).set(bearer(apiKey)).expect(200);
      const [row] = await queryDb<{ revoked_reason: string }>(api.db.url, 'SELECT revoked_reason FROM vault_keys WHERE id = $1', [key.id]);
      expect(row.revoked_reason).toBe('revoked_by_id');
    });
  });

  describe('in bulk', () => {
    it('by label: every active key of the label, and only those', async () => {
      const a = [await issue({ label: 'bulk-a' }), await issue({ label: 'bulk-a' }), await issue({ label: 'bulk-a', credential: 'rev_stripe_b' })];
      const b = await issue({ label: 'bulk-b' });

      const res = await revokeMatching({ label: 'bulk-a' }).expect(200);
      expect(res.body).toEqual({ object: 'revocation', revoked: 3 });
      const ids = a.map((k) => k.id).sort();
      expect(await announcedIds()).toEqual(ids);
      expect((await revokedEvents(ids)).map((e) => e.payload.vault_key_id).sort()).toEqual(ids);
      for (const k of a) expect(await statusOf(k.id)).toBe('revoked');
      expect(await statusOf(b.id)).toBe('active');
      const listed = await api.http.get('/vault/keys?label=bulk-a&status=revoked').set(bearer(apiKey)).expect(200);
      expect(listed.body.data).toHaveLength(3);

      // nothing left to revoke: 0, and no announcement
      await notices.clear();
      expect((await revokeMatching({ label: 'bulk-a' }).expect(200)).body).toEqual({ object: 'revocation', revoked: 0 });
      expect(await notices.received()).toEqual([]);
    });

    it('by credential, named by name or by id', async () => {
      const t = await api.admin().post('/tenants').send({ name: 'Credential bulk' }).expect(201);
      const token = (await api.admin().post(`/tenants/${t.body.id}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;
      const openai = await createCredentialProfile(api, t.body.id, { name: 'cb_openai', vendor: 'openai', isDefault: true });
      const anthropic = await createCredentialProfile(api, t.body.id, { name: 'cb_anthropic', vendor: 'anthropic', isDefault: true });
      const llm = { allowed_endpoints: ['POST /v1/**'] };
      const o = [await issue({ ...llm, vendor: 'openai' }, token), await issue({ ...llm, vendor: 'openai' }, token)];
      const c = [await issue({ ...llm, vendor: 'anthropic' }, token), await issue({ ...llm, vendor: 'anthropic' }, token)];

      expect((await revokeMatching({ credential: 'cb_openai' }, token).expect(200)).body.revoked).toBe(2);
      expect(await announcedIds()).toEqual(o.map((k) => k.id).sort());
      await notices.clear();
      expect((await revokeMatching({ credential: anthropic.id }, token).expect(200)).body.revoked).toBe(2);
      expect(await announcedIds()).toEqual(c.map((k) => k.id).sort());
      expect(openai.id).not.toBe(anthropic.id);
    });

    it('by metadata: every pair given must match', async () => {
      const hit1 = await issue({ label: 'meta', metadata: { user_id: 'u-7', conversation_id: 'c-77' } });
      const hit2 = await issue({ label: 'meta-2', metadata: { user_id: 'u-8', conversation_id: 'c-77', extra: 'x' } });
      const miss = await issue({ label: 'meta', metadata: { user_id: 'u-7', conversation_id: 'c-78' } });

      expect((await revokeMatching({ metadata: { conversation_id: 'c-77' } }).expect(200)).body.revoked).toBe(2);
      expect(await announcedIds()).toEqual([hit1.id, hit2.id].sort());
      expect(await statusOf(miss.id)).toBe('active');
    });

    it('a metadata key named like an Object.prototype member still narrows the match', async () => {
      const plain = await issue({ label: 'proto', metadata: { user_id: 'u-1' } });
      const named = await issue({ label: 'proto', metadata: { toString: 'yes' } });
      expect((await revokeMatching({ label: 'proto', metadata: { toString: 'yes' } }).expect(200)).body.revoked).toBe(1);
      expect(await announcedIds()).toEqual([named.id]);
      expect(await statusOf(plain.id)).toBe('active');
    });

    it('refuses a reserved metadata key rather than dropping it and revoking the whole label', async () => {
      const key = await issue({ label: 'reserved' });
      const res = await api.http
        .post('/vault/keys/revoke')
        .set(bearer(apiKey))
        .set('Content-Type', 'application/json')
        .send('{"label":"reserved","metadata":{"constructor":"x"}}')
        .expect(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'metadata' });
      expect(await statusOf(key.id)).toBe('active');
    });

    it('combined filters take the intersection', async () => {
      const hit = await issue({ label: 'combo', credential: 'rev_stripe_b', metadata: { user_id: 'u-9' } });
      const otherCredential = await issue({ label: 'combo', metadata: { user_id: 'u-9' } });
      const otherUser = await issue({ label: 'combo', credential: 'rev_stripe_b', metadata: { user_id: 'u-10' } });

      const res = await revokeMatching({ label: 'combo', credential: stripeB.id, metadata: { user_id: 'u-9' } }).expect(200);
      expect(res.body.revoked).toBe(1);
      expect(await announcedIds()).toEqual([hit.id]);
      expect(await statusOf(otherCredential.id)).toBe('active');
      expect(await statusOf(otherUser.id)).toBe('active');
    });

    it("never reaches another tenant's keys", async () => {
      const t = await api.admin().post('/tenants').send({ name: 'Bystander' }).expect(201);
      const token = (await api.admin().post(`/tenants/${t.body.id}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;
      await createCredentialProfile(api, t.body.id, { name: 'by_stripe', vendor: 'stripe', isDefault: true });
      const theirs = await issue({ label: 'shared-label' }, token);
      const mine = await issue({ label: 'shared-label' });
      expect((await revokeMatching({ label: 'shared-label' }).expect(200)).body.revoked).toBe(1);
      expect(await announcedIds()).toEqual([mine.id]);
      expect((await api.http.get(`/vault/keys/${theirs.id}`).set(bearer(token)).expect(200)).body.status).toBe('active');
    });

    it.each([
      [{}, 400, 'parameter_missing', undefined],
      [{ metadata: {} }, 400, 'parameter_missing', undefined],
      [{ metadata: { user: { id: 'u' } } }, 400, 'parameter_invalid', 'metadata'],
      [{ label: '' }, 400, 'parameter_invalid', 'label'],
      [{ ids: ['vk_x'] }, 400, 'parameter_unknown', 'ids'],
      [{ credential: 'no_such_profile' }, 404, 'resource_missing', 'credential'],
    ])('%j → %i %s', async (body, status, code, param) => {
      const res = await revokeMatching(body).expect(status);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code });
      expect(res.body.error.param).toBe(param);
      expect(await notices.received()).toEqual([]);
    });
  });

  describe('a disabled tenant', () => {
    it('is announced, cannot issue, still reads and revokes its keys, and issues again once enabled', async () => {
      const t = await api.admin().post('/tenants').send({ name: 'Toggled' }).expect(201);
      const token = (await api.admin().post(`/tenants/${t.body.id}/api-keys`).send({ name: 'ops' }).expect(201)).body.api_key;
      await createCredentialProfile(api, t.body.id, { name: 'tg_stripe', vendor: 'stripe', isDefault: true });
      const key = await issue({ label: 'before' }, token);
      const other = await issue({ label: 'before-2' }, token);

      await api.admin().post(`/tenants/${t.body.id}/disable`).expect(200);
      expect(await notices.received()).toEqual([{ tenant_id: t.body.id }]);

      const refused = await api.http.post('/vault/keys').set(bearer(token)).send(SEED).expect(401);
      expect(refused.body.error).toMatchObject({ type: 'authentication_error', code: 'tenant_disabled' });
      const viaAdmin = await api.admin().post('/vault/keys').set('Keyvault-Tenant', t.body.id).send(SEED).expect(401);
      expect(viaAdmin.body.error.code).toBe('tenant_disabled');

      const listed = await api.http.get('/vault/keys').set(bearer(token)).expect(200);
      expect(listed.body.data.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([
        [other.id, 'active'],
        [key.id, 'active'],
      ]);
      await notices.clear();
      await api.http.delete(`/vault/keys/${other.id}`).set(bearer(token)).expect(200);
      expect(await announcedIds()).toEqual([other.id]);

      await api.admin().post(`/tenants/${t.body.id}/enable`).expect(200);
      await issue({ label: 'after' }, token);
    });
  });
});
