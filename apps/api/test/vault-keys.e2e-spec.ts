import { spawnSync } from 'node:child_process';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPublicKey, verifyVaultKey, VAULT_KEY_PREFIX } from '@keyvault/crypto';
import { createdSecrets, queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { createCredentialProfile, deleteCredentialProfile, type CredentialProfileFixture } from '../../../test/harness/fixtures';

/** The seed client's request, byte for byte. */
const SEED = {
  vendor: 'stripe',
  daily_usd_cap: 100,
  allowed_endpoints: ['POST /v1/payment_intents'],
  expires_in: '2h',
  label: 'dify-chat-42-s1',
};

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('vault keys', () => {
  let api: ApiHarness;
  let tenantId: string;
  let apiKey: string;
  let stripe: CredentialProfileFixture;
  let openaiA: CredentialProfileFixture;

  const newTenant = async (name: string, extra: Record<string, unknown> = {}) => {
    const { body: t } = await api.admin().post('/tenants').send({ name, ...extra }).expect(201);
    const { body: k } = await api.admin().post(`/tenants/${t.id}/api-keys`).send({ name: 'backend' }).expect(201);
    return { id: t.id as string, apiKey: k.api_key as string };
  };
  const issue = (body: unknown, token = apiKey) => api.http.post('/vault/keys').set(bearer(token)).send(body as object);
  const issued = async (body: unknown, token = apiKey) => {
    const res = await issue(body, token).expect(201);
    createdSecrets.add(res.body.vault_key);
    return res.body;
  };
  const get = (path: string, token = apiKey) => api.http.get(path).set(bearer(token));
  const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((k) => k.id);

  beforeAll(async () => {
    api = await startApi();
    ({ id: tenantId, apiKey } = await newTenant('Client A'));
    stripe = await createCredentialProfile(api, tenantId, { name: 'client_a_stripe', vendor: 'stripe', isDefault: true });
    openaiA = await createCredentialProfile(api, tenantId, { name: 'client_a_openai', vendor: 'openai' });
  });
  afterAll(async () => api?.close());

  describe('issuing', () => {
    it('answers the seed request with a signed vault key that the database never holds', async () => {
      const res = await issue(SEED).expect(201);
      const key = res.body;
      createdSecrets.add(key.vault_key);
      expect(Object.keys(key)).toEqual([
        'id', 'object', 'vault_key', 'vendor', 'credential', 'credential_name', 'daily_usd_cap',
        'total_usd_cap', 'total_spent_usd', 'total_reserved_usd', 'max_usd_per_call', 'allowed_models', 'duplicate_window', 'max_calls_per_minute', 'max_tokens_per_minute', 'allowed_inputs',
        'allowed_endpoints', 'allowed_headers', 'expires_at', 'label', 'metadata', 'capture', 'status', 'spent_today_usd', 'reserved_usd', 'created_at', 'revoked_at',
        'key_group', 'fallback_to_shared',
      ]);
      expect(key).toMatchObject({
        object: 'vault_key',
        vendor: 'stripe',
        credential: stripe.id,
        credential_name: 'client_a_stripe',
        daily_usd_cap: 100,
        allowed_endpoints: ['POST /v1/payment_intents'],
        label: 'dify-chat-42-s1',
        metadata: {},
        capture: 'none',
        status: 'active',
        spent_today_usd: 0,
        reserved_usd: 0,
        revoked_at: null,
      });
      expect(key.id).toMatch(/^vk_[0-9a-z]{26}$/);
      const token: string = key.vault_key;
      expect(token.startsWith(VAULT_KEY_PREFIX)).toBe(true);

      // verifies with the public key stored in clear, and says who, what and until when
      const [signer] = await queryDb<{ id: string; public_key_pem: string }>(
        api.db.url,
        `SELECT id, public_key_pem FROM signing_keys WHERE status = 'active'`,
      );
      const jws = token.slice(VAULT_KEY_PREFIX.length);
      expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'EdDSA', kid: signer.id });
      const verdict = await verifyVaultKey(token, new Map([[signer.id, importPublicKey(signer.public_key_pem)]]));
      expect(verdict.ok).toBe(true);
      if (!verdict.ok) return;
      expect(verdict.claims).toMatchObject({ sub: key.id, ten: tenantId, ven: 'stripe', exp: Date.parse(key.expires_at) / 1000 });
      expect(verdict.claims.exp - verdict.claims.iat).toBe(7200);

      // the row holds the id and the policy, nothing of the token
      const [row] = await queryDb<Record<string, unknown>>(api.db.url, 'SELECT * FROM vault_keys WHERE id = $1', [key.id]);
      expect(row).toMatchObject({
        id: key.id,
        tenant_id: tenantId,
        credential_id: stripe.id,
        vendor: 'stripe',
        daily_cap_nanos: '100000000000',
        // guardrails (issue 19): none asked for, the default duplicate window of a money-moving vendor
        max_call_nanos: null,
        allowed_models: null,
        duplicate_window_seconds: 600,
        max_calls_per_minute: null,
        max_tokens_per_minute: null,
        allowed_endpoints: ['POST /v1/payment_intents'],
        allowed_headers: [],
        expires_at: new Date(key.expires_at),
        label: 'dify-chat-42-s1',
        metadata: {},
        revoked_at: null,
        revoked_reason: null,
        created_at: new Date(key.created_at),
        key_group: null,
        fallback_to_shared: false,
        // capture (issue 21)
        capture: 'none',
      });
      const [, payload, signature] = jws.split('.');
      for (const value of Object.values(row)) {
        const text = JSON.stringify(value);
        expect(text).not.toContain(signature);
        expect(text).not.toContain(payload);
      }

      // nor does any other table: a full dump of the database
      const dump = spawnSync('pg_dump', ['--no-password', '--dbname', api.db.url], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stdout).toContain(key.id);
      expect(dump.stdout).not.toContain(token);
      expect(dump.stdout).not.toContain(signature);
      expect(dump.stdout).not.toContain(payload);
    });

    it.each([
      ['30m', 30 * 60],
      ['2h', 2 * 3600],
      ['72h', 72 * 3600],
      ['7d', 7 * 86400],
      ['1m', 60],
      ['30d', 30 * 86400],
    ])('expires_in %s sets expires_at that far ahead', async (expires_in, seconds) => {
      const key = await issued({ ...SEED, expires_in });
      const ms = Date.parse(key.expires_at) - Date.parse(key.created_at);
      // the token's exp is whole seconds, counted from the second the key was issued in
      expect(ms).toBeLessThanOrEqual(seconds * 1000);
      expect(ms).toBeGreaterThan(seconds * 1000 - 1000);
    });

    it.each([['0m'], ['2'], ['h'], ['2 h'], ['-1h'], ['1.5h'], ['2w'], ['99999999d'], [''], [7200], [null]])(
      'expires_in %j is a 400 on expires_in',
      async (expires_in) => {
        const res = await issue({ ...SEED, expires_in }).expect(400);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'expires_in' });
      },
    );

    it('expires_in is required', async () => {
      const { expires_in: _, ...body } = SEED;
      const res = await issue(body).expect(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'expires_in' });
    });

    it("refuses a TTL above the tenant's maximum with 422 ttl_exceeds_tenant_max", async () => {
      const short = await newTenant('Short TTL', { max_vault_key_ttl: '2h' });
      await createCredentialProfile(api, short.id, { name: 'short_stripe', vendor: 'stripe', isDefault: true });
      const res = await issue({ ...SEED, expires_in: '121m' }, short.apiKey).expect(422);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'ttl_exceeds_tenant_max', param: 'expires_in' });
      expect(res.body.error.message).toContain('2h');
      // exactly the maximum is fine
      await issued({ ...SEED, expires_in: '2h' }, short.apiKey);
    });

    describe('credential', () => {
      it('by name and by id', async () => {
        const byName = await issued({ ...SEED, vendor: 'openai', credential: 'client_a_openai', allowed_endpoints: ['POST /v1/chat/completions'] });
        expect(byName).toMatchObject({ vendor: 'openai', credential: openaiA.id, credential_name: 'client_a_openai' });
        const byId = await issued({ ...SEED, vendor: 'openai', credential: openaiA.id, allowed_endpoints: ['POST /v1/chat/completions'] });
        expect(byId).toMatchObject({ credential: openaiA.id, credential_name: 'client_a_openai' });
      });

      it("defaults to the tenant's default profile for the vendor", async () => {
        const second = await createCredentialProfile(api, tenantId, { name: 'client_a_stripe_backup', vendor: 'stripe' });
        const key = await issued(SEED);
        expect(key.credential).toBe(stripe.id);
        expect(key.credential).not.toBe(second.id);
      });

      it('422 no_default_credential when the vendor has no default profile', async () => {
        // openai has a profile, but not a default one; anthropic has none at all
        for (const vendor of ['openai', 'anthropic']) {
          const res = await issue({ ...SEED, vendor }).expect(422);
          expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'no_default_credential', param: 'credential' });
        }
      });

      it('a deleted default profile is no default', async () => {
        const t = await newTenant('Deleted default');
        const p = await createCredentialProfile(api, t.id, { name: 'gone', vendor: 'resend', isDefault: true });
        const body = { ...SEED, vendor: 'resend', allowed_endpoints: ['POST /emails'] };
        await issued(body, t.apiKey);
        await deleteCredentialProfile(api, t.id, p.id);
        expect((await issue(body, t.apiKey).expect(422)).body.error.code).toBe('no_default_credential');
        expect((await issue({ ...body, credential: 'gone' }, t.apiKey).expect(404)).body.error.code).toBe('resource_missing');
      });

      it('404 resource_missing for an unknown profile, or one of another tenant', async () => {
        const other = await newTenant('Other tenant');
        const theirs = await createCredentialProfile(api, other.id, { name: 'their_stripe', vendor: 'stripe', isDefault: true });
        for (const credential of ['no_such_profile', theirs.id, 'their_stripe']) {
          const res = await issue({ ...SEED, credential }).expect(404);
          expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'credential' });
        }
      });

      it("400 parameter_invalid when the profile is another vendor's", async () => {
        const res = await issue({ ...SEED, credential: 'client_a_openai' }).expect(400);
        expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'credential' });
        expect(res.body.error.message).toContain('openai');
      });
    });

    describe('validation', () => {
      it('reports a bad allowed_endpoints entry by its index, with the parser message', async () => {
        const res = await issue({ ...SEED, allowed_endpoints: ['POST /v1/payment_intents', 'FETCH /v1/charges'] }).expect(400);
        expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'allowed_endpoints.1' });
        expect(res.body.error.message).toContain('unknown method "FETCH"');
      });

      it.each([
        [['GET /v1/charges?limit=1'], 'allowed_endpoints.0'],
        [['POST v1/charges'], 'allowed_endpoints.0'],
        [['GET /v1/**/x'], 'allowed_endpoints.0'],
        [['GET /v1/../admin'], 'allowed_endpoints.0'],
        [['GET /a', 42], 'allowed_endpoints.1'],
        [['GET /a', 'GET /b', `GET /${'a'.repeat(500)}`], 'allowed_endpoints.2'],
        [[], 'allowed_endpoints'],
        [Array.from({ length: 101 }, (_, i) => `GET /v1/x${i}`), 'allowed_endpoints'],
        ['POST /v1/payment_intents', 'allowed_endpoints'],
      ])('allowed_endpoints %j → 400 on %s', async (allowed_endpoints, param) => {
        const res = await issue({ ...SEED, allowed_endpoints }).expect(400);
        expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param });
      });

      it('accepts wildcards and 100 entries', async () => {
        const key = await issued({ ...SEED, allowed_endpoints: ['GET /v1/**', '* /v1/customers/*', 'post /v1/refunds'] });
        expect(key.allowed_endpoints).toEqual(['GET /v1/**', '* /v1/customers/*', 'post /v1/refunds']);
        await issued({ ...SEED, allowed_endpoints: Array.from({ length: 100 }, (_, i) => `GET /v1/x${i}`) });
      });

      it.each([
        [{ user: { id: 'u1' } }],
        [{ user_id: 42 }],
        [{ flag: true }],
        [{ tags: ['a'] }],
        [['u1']],
        ['user_id=u1'],
        [{ ['k'.repeat(41)]: 'v' }],
        [{ 'user id': 'u1' }],
        [{ '': 'v' }],
        [{ user_id: 'v'.repeat(501) }],
        [Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']))],
      ])('metadata %j → 400 on metadata', async (metadata) => {
        const res = await issue({ ...SEED, metadata }).expect(400);
        expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'metadata' });
      });

      it('keeps metadata at its limits', async () => {
        const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${'k'.repeat(38)}${String(i).padStart(2, '0')}`, 'v'.repeat(500)]));
        const key = await issued({ ...SEED, metadata: { ...metadata } });
        expect(key.metadata).toEqual(metadata);
        const small = await issued({ ...SEED, metadata: { user_id: 'u_42', 'conversation.id': 'c-9' } });
        expect((await get(`/vault/keys/${small.id}`).expect(200)).body.metadata).toEqual({ user_id: 'u_42', 'conversation.id': 'c-9' });
      });

      it('keeps keys named like Object.prototype members', async () => {
        const metadata = { toString: 't', hasOwnProperty: 'h', valueOf: 'v' };
        expect((await issued({ ...SEED, metadata })).metadata).toEqual(metadata);
      });

      // the framework strips these from bodies before validation; they must not vanish in silence
      it.each([['__proto__'], ['constructor'], ['prototype']])('refuses the metadata key %s', async (name) => {
        const raw = `{"vendor":"stripe","daily_usd_cap":1,"allowed_endpoints":["GET /a"],"expires_in":"1h","metadata":{"${name}":"x"}}`;
        const res = await api.http.post('/vault/keys').set(bearer(apiKey)).set('Content-Type', 'application/json').send(raw).expect(400);
        expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'metadata' });
        expect(res.body.error.message).toContain(name);
      });

      it.each([[0], [-1], ['100'], [1_000_000.5], [0.0000000001], [1.1234567891], [0.1 + 0.2], [null], [Number.MAX_VALUE]])(
        'daily_usd_cap %j → 400 on daily_usd_cap',
        async (daily_usd_cap) => {
          const res = await issue({ ...SEED, daily_usd_cap }).expect(400);
          expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'daily_usd_cap' });
        },
      );

      it.each([[0.000000001, '1'], [0.0000002, '200'], [12.34, '12340000000'], [999_999.999999999, '999999999999999'], [1_000_000, '1000000000000000']])(
        'daily_usd_cap %j is kept exactly',
        async (daily_usd_cap, nanos) => {
          const key = await issued({ ...SEED, daily_usd_cap });
          expect(key.daily_usd_cap).toBe(daily_usd_cap);
          const [row] = await queryDb<{ daily_cap_nanos: string }>(api.db.url, 'SELECT daily_cap_nanos FROM vault_keys WHERE id = $1', [key.id]);
          expect(row.daily_cap_nanos).toBe(nanos);
        },
      );

      it.each([
        [{ ...SEED, vendor: 'paypal' }, 'vendor', 'parameter_invalid'],
        [{ ...SEED, vendor: undefined }, 'vendor', 'parameter_invalid'],
        [{ ...SEED, label: 'x'.repeat(201) }, 'label', 'parameter_invalid'],
        [{ ...SEED, label: 7 }, 'label', 'parameter_invalid'],
        [{ ...SEED, credential: '' }, 'credential', 'parameter_invalid'],
        [{ ...SEED, vault_key: 'vault_key_mine' }, 'vault_key', 'parameter_unknown'],
      ])('%j → 400 on %s', async (body, param, code) => {
        const res = await issue(body).expect(400);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code, param });
      });
    });

    describe('idempotency', () => {
      it('replays the same id and token for the same Idempotency-Key and body', async () => {
        const body = { ...SEED, label: 'idem-1' };
        const a = await issue(body).set('Idempotency-Key', 'chat-42-start').expect(201);
        const b = await issue(body).set('Idempotency-Key', 'chat-42-start').expect(201);
        createdSecrets.add(a.body.vault_key);
        expect(b.headers['idempotent-replayed']).toBe('true');
        expect(b.body.id).toBe(a.body.id);
        expect(b.body.vault_key).toBe(a.body.vault_key);
        const rows = await queryDb(api.db.url, `SELECT id FROM vault_keys WHERE label = 'idem-1'`);
        expect(rows).toHaveLength(1);
      });

      it('a refused request does not hold its Idempotency-Key', async () => {
        await issue({ ...SEED, expires_in: '2w' }).set('Idempotency-Key', 'chat-44-start').expect(400);
        const reserved = `{"vendor":"stripe","daily_usd_cap":1,"allowed_endpoints":["GET /a"],"expires_in":"1h","metadata":{"constructor":"x"}}`;
        await api.http.post('/vault/keys').set(bearer(apiKey)).set('Idempotency-Key', 'chat-44-start').set('Content-Type', 'application/json').send(reserved).expect(400);
        await issue({ ...SEED, credential: 'client_a_openai' }).set('Idempotency-Key', 'chat-44-start').expect(400);
        const ok = await issue(SEED).set('Idempotency-Key', 'chat-44-start').expect(201);
        createdSecrets.add(ok.body.vault_key);
      });

      it('answers 409 idempotency_key_reused for another body', async () => {
        await issue({ ...SEED, label: 'idem-2' }).set('Idempotency-Key', 'chat-43-start').expect(201);
        const res = await issue({ ...SEED, label: 'idem-3' }).set('Idempotency-Key', 'chat-43-start').expect(409);
        expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'idempotency_key_reused' });
      });
    });
  });

  describe('reading', () => {
    let t: { id: string; apiKey: string };
    let p1: CredentialProfileFixture;
    let p2: CredentialProfileFixture;
    let k1: { id: string; vault_key: string };
    let k2: { id: string };
    let k3: { id: string };
    let expired: { id: string };
    let revoked: { id: string };

    beforeAll(async () => {
      t = await newTenant('Reader');
      p1 = await createCredentialProfile(api, t.id, { name: 'reader_stripe', vendor: 'stripe', isDefault: true });
      p2 = await createCredentialProfile(api, t.id, { name: 'reader_stripe_b', vendor: 'stripe' });
      k1 = await issued({ ...SEED, label: 'chat-1', metadata: { user_id: 'u1', conversation_id: 'c1' } }, t.apiKey);
      k2 = await issued({ ...SEED, label: 'chat-1', credential: 'reader_stripe_b', metadata: { user_id: 'u2' } }, t.apiKey);
      k3 = await issued({ ...SEED, label: 'chat-2', metadata: { user_id: 'u1' } }, t.apiKey);
      expired = await issued({ ...SEED, label: 'old' }, t.apiKey);
      // time passing, for one key
      await queryDb(api.db.url, `UPDATE vault_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);
      revoked = await issued({ ...SEED, label: 'chat-2' }, t.apiKey);
      await api.http.delete(`/vault/keys/${revoked.id}`).set(bearer(t.apiKey)).expect(200);
    });

    it('gets one key without its token', async () => {
      const res = await get(`/vault/keys/${k1.id}`, t.apiKey).expect(200);
      expect(res.body).toMatchObject({
        id: k1.id,
        object: 'vault_key',
        vendor: 'stripe',
        credential: p1.id,
        credential_name: 'reader_stripe',
        label: 'chat-1',
        metadata: { user_id: 'u1', conversation_id: 'c1' },
        status: 'active',
        spent_today_usd: 0,
        reserved_usd: 0,
        revoked_at: null,
      });
      expect(res.body).not.toHaveProperty('vault_key');
      expect(JSON.stringify(res.body)).not.toContain(k1.vault_key.slice(VAULT_KEY_PREFIX.length));
    });

    it('lists newest first with every status', async () => {
      const res = await get('/vault/keys', t.apiKey).expect(200);
      expect(res.body).toMatchObject({ object: 'list', has_more: false });
      expect(ids(res)).toEqual([revoked.id, expired.id, k3.id, k2.id, k1.id]);
      const byId = Object.fromEntries(res.body.data.map((k: { id: string; status: string }) => [k.id, k]));
      expect(byId[revoked.id]).toMatchObject({ status: 'revoked', revoked_at: expect.any(String) });
      expect(byId[expired.id]).toMatchObject({ status: 'expired', revoked_at: null });
      expect(byId[k1.id]).toMatchObject({ status: 'active' });
      expect(JSON.stringify(res.body)).not.toContain(VAULT_KEY_PREFIX);
    });

    it.each([
      ['status=active', () => [k3.id, k2.id, k1.id]],
      ['status=revoked', () => [revoked.id]],
      ['status=expired', () => [expired.id]],
      ['label=chat-1', () => [k2.id, k1.id]],
      ['label=chat-2&status=active', () => [k3.id]],
      ['label=nobody', () => []],
      ['credential=reader_stripe_b', () => [k2.id]],
      ['metadata[user_id]=u1', () => [k3.id, k1.id]],
      ['metadata[user_id]=u1&metadata[conversation_id]=c1', () => [k1.id]],
      ['metadata[user_id]=u3', () => []],
      ['label=chat-1&metadata[user_id]=u2', () => [k2.id]],
    ])('filters ?%s', async (query, expected) => {
      expect(ids(await get(`/vault/keys?${query}`, t.apiKey).expect(200))).toEqual(expected());
    });

    it('filters by credential id, and by status with it', async () => {
      expect(ids(await get(`/vault/keys?credential=${p2.id}`, t.apiKey).expect(200))).toEqual([k2.id]);
      expect(ids(await get(`/vault/keys?credential=${p1.id}&status=expired`, t.apiKey).expect(200))).toEqual([expired.id]);
    });

    it('pages with limit and starting_after', async () => {
      const first = await get('/vault/keys?limit=2', t.apiKey).expect(200);
      expect(ids(first)).toEqual([revoked.id, expired.id]);
      expect(first.body.has_more).toBe(true);
      const second = await get(`/vault/keys?limit=2&starting_after=${expired.id}`, t.apiKey).expect(200);
      expect(ids(second)).toEqual([k3.id, k2.id]);
      expect(second.body.has_more).toBe(true);
      const last = await get(`/vault/keys?limit=2&starting_after=${k2.id}`, t.apiKey).expect(200);
      expect(ids(last)).toEqual([k1.id]);
      expect(last.body.has_more).toBe(false);
      const filtered = await get(`/vault/keys?status=active&limit=1&starting_after=${k3.id}`, t.apiKey).expect(200);
      expect(ids(filtered)).toEqual([k2.id]);
      expect(filtered.body.has_more).toBe(true);
    });

    it.each([
      ['status=dead', 'status'],
      ['metadata=u1', 'metadata'],
      ['metadata[user][id]=u1', 'metadata'],
      ['label=a&label=b', 'label'],
      ['limit=0', 'limit'],
      ['starting_after=nope', 'starting_after'],
      ['colour=red', 'colour'],
    ])('?%s is a 400 on %s', async (query, param) => {
      const res = await get(`/vault/keys?${query}`, t.apiKey).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
    });

    it('an unknown credential filter is a 404 on credential', async () => {
      const res = await get('/vault/keys?credential=nope', t.apiKey).expect(404);
      expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'credential' });
    });

    it("shows today's spend, spent and reserved, and not yesterday's", async () => {
      await queryDb(
        api.db.url,
        `INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos, reserved_nanos) VALUES
           ($1, (now() AT TIME ZONE 'UTC')::date, $2, 12340000200, 660000000),
           ($1, (now() AT TIME ZONE 'UTC')::date - 1, $2, 5000000000, 0)`,
        [k3.id, t.id],
      );
      // spent is what finished calls cost, to the nano-dollar; reserved is apart, never added to it
      expect((await get(`/vault/keys/${k3.id}`, t.apiKey).expect(200)).body).toMatchObject({ spent_today_usd: 12.3400002, reserved_usd: 0.66 });
      const listed = (await get('/vault/keys?label=chat-2&status=active', t.apiKey).expect(200)).body.data[0];
      expect(listed).toMatchObject({ id: k3.id, spent_today_usd: 12.3400002, reserved_usd: 0.66 });
      expect((await get(`/vault/keys/${k1.id}`, t.apiKey).expect(200)).body).toMatchObject({ spent_today_usd: 0, reserved_usd: 0 });
    });

    it('an unknown id is a 404', async () => {
      const res = await get('/vault/keys/vk_00000000000000000000000000', t.apiKey).expect(404);
      expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
    });
  });

  describe('who may do what', () => {
    let issuer: string;
    let reader: string;
    let other: { id: string; apiKey: string };
    let theirs: { id: string };
    let mine: { id: string };

    beforeAll(async () => {
      issuer = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'chat backend', scopes: ['vault_keys:issue'] }).expect(201)).body.api_key;
      reader = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'dashboard', scopes: ['vault_keys:read'] }).expect(201)).body.api_key;
      other = await newTenant('Someone else');
      await createCredentialProfile(api, other.id, { name: 'else_stripe', vendor: 'stripe', isDefault: true });
      theirs = await issued(SEED, other.apiKey);
      mine = await issued(SEED);
    });

    it('an issue-only key issues, and gets 403 insufficient_scope on reading and revoking', async () => {
      await issued(SEED, issuer);
      const refused = [
        api.http.get('/vault/keys'),
        api.http.get(`/vault/keys/${mine.id}`),
        api.http.delete(`/vault/keys/${mine.id}`),
        api.http.post(`/vault/keys/${mine.id}/revoke`),
        api.http.post('/vault/keys/revoke').send({ label: SEED.label }),
      ];
      for (const req of refused) {
        const res = await req.set(bearer(issuer)).expect(403);
        expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_scope' });
      }
      expect((await get(`/vault/keys/${mine.id}`).expect(200)).body.status).toBe('active');
    });

    it('a read-only key reads but cannot issue', async () => {
      await get(`/vault/keys/${mine.id}`, reader).expect(200);
      const res = await issue(SEED, reader).expect(403);
      expect(res.body.error.code).toBe('insufficient_scope');
    });

    it("another tenant's vault key ids answer 404 and stay untouched", async () => {
      for (const req of [
        api.http.get(`/vault/keys/${theirs.id}`),
        api.http.delete(`/vault/keys/${theirs.id}`),
        api.http.post(`/vault/keys/${theirs.id}/revoke`),
      ]) {
        const res = await req.set(bearer(apiKey)).expect(404);
        expect(res.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
      }
      expect(ids(await get('/vault/keys?limit=100').expect(200))).not.toContain(theirs.id);
      expect((await get(`/vault/keys/${theirs.id}`, other.apiKey).expect(200)).body.status).toBe('active');
    });

    it('the admin acts inside a tenant with Keyvault-Tenant, and needs it', async () => {
      const res = await api.admin().post('/vault/keys').set('Keyvault-Tenant', tenantId).send(SEED).expect(201);
      createdSecrets.add(res.body.vault_key);
      expect(res.body.credential).toBe(stripe.id);
      await api.admin().get(`/vault/keys/${res.body.id}`).set('Keyvault-Tenant', tenantId).expect(200);
      const missing = await api.admin().post('/vault/keys').send(SEED).expect(400);
      expect(missing.body.error).toMatchObject({ code: 'tenant_required', param: 'Keyvault-Tenant' });
    });

    it('documents the routes in OpenAPI', async () => {
      const doc = (await api.http.get('/openapi.json').expect(200)).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/vault/keys', '/vault/keys/revoke', '/vault/keys/{id}', '/vault/keys/{id}/revoke', '/signing-keys', '/signing-keys/rotate']),
      );
      // daily_usd_cap or total_usd_cap (or both): checked by the service (400 cap_required)
      expect(doc.components.schemas.CreateVaultKeyDto.required).toEqual(['vendor', 'allowed_endpoints', 'expires_in']);
    });

    it('no API key is a 401', async () => {
      const res = await api.http.post('/vault/keys').send(SEED).expect(401);
      expect(res.body.error.code).toBe('invalid_api_key');
    });
  });
});
