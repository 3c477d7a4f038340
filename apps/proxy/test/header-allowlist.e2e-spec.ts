import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startStubServer, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';

const ACCOUNT_SID = `AC${'2b'.repeat(16)}`;

/** What an upstream answers that tells the key holder whose account the real key is, or sets state on it. */
const LEAKY_ANSWER = {
  'openai-organization': 'org-the-vault-owner',
  'anthropic-organization-id': 'the-vault-owner-org-uuid',
  'set-cookie': '__cf_bm=upstream-session; path=/; HttpOnly',
};
/** The vendors' own request ids and rate-limit hints: returned. */
const USEFUL_ANSWER = {
  'x-request-id': 'req_openai_1',
  'request-id': 'req_anthropic_or_stripe_1',
  'twilio-request-id': 'RQ1',
  'x-ratelimit-remaining-requests': '99',
  'anthropic-ratelimit-requests-remaining': '98',
  'ratelimit-remaining': '9',
};

/** One free call per vendor, and what its client would add on top of the usual headers. */
const CALLS = [
  { vendor: 'openai', method: 'GET', path: '/openai/v1/models', rule: 'GET /v1/models', keys: ['sk-real-openai-headers'],
    returned: ['x-request-id', 'x-ratelimit-remaining-requests'] },
  { vendor: 'anthropic', method: 'POST', path: '/anthropic/v1/messages/count_tokens', rule: 'POST /v1/messages/count_tokens', keys: ['sk-ant-real-headers'],
    returned: ['request-id', 'anthropic-ratelimit-requests-remaining'] },
  { vendor: 'stripe', method: 'GET', path: '/stripe/v1/balance', rule: 'GET /v1/balance', keys: ['sk_test_real_stripe_headers'], returned: ['request-id'] },
  { vendor: 'twilio', method: 'GET', path: `/twilio/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, rule: 'GET /2010-04-01/Accounts/*/Messages.json',
    keys: [`${ACCOUNT_SID}:real-twilio-token-headers`], returned: ['twilio-request-id'] },
  { vendor: 'resend', method: 'GET', path: '/resend/emails/em_1', rule: 'GET /emails/*', keys: ['re_real_resend_headers'], returned: ['ratelimit-remaining'] },
] as const;

/** Client headers that choose who pays, turn on priced features, act on other accounts, or carry cookies. */
const DENIED_UP = {
  'openai-organization': 'org-someone-else',
  'openai-project': 'proj_someone_else',
  'anthropic-beta': 'priced-feature-2026-01-01',
  'stripe-account': 'acct_someone_else',
  'stripe-context': 'ctx_someone_else',
  cookie: 'session=client-cookie',
};

describe('headers cross the proxy by per-vendor allowlist, both ways', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  const credentials = new Map<string, string>();

  beforeAll(async () => {
    api = await startApi();
    stub = await startStubServer((req, res) =>
      json(res, 200, { object: 'list', data: [], input_tokens: 1 }, { ...LEAKY_ANSWER, ...USEFUL_ANSWER, 'x-unlisted-upstream-header': 'dropped' }),
    );
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: stub.url,
      KEYVAULT_UPSTREAM_ANTHROPIC: stub.url,
      KEYVAULT_UPSTREAM_STRIPE: stub.url,
      KEYVAULT_UPSTREAM_TWILIO: stub.url,
      KEYVAULT_UPSTREAM_RESEND: stub.url,
    });
    tenantId = await fx.tenant('Headers');
    for (const c of CALLS) credentials.set(c.vendor, (await fx.credential(tenantId, { vendor: c.vendor, keys: [...c.keys] })).id);
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (vendor: string, rule: string, extra: Record<string, unknown> = {}) =>
    api
      .admin()
      .post('/vault/keys')
      .set('Keyvault-Tenant', tenantId)
      .send({ vendor, credential: credentials.get(vendor), daily_usd_cap: 1, allowed_endpoints: [rule], expires_in: '1h', ...extra });

  const call = (c: (typeof CALLS)[number], token: string, headers: Record<string, string> = {}) =>
    fetch(`${proxy.url}${c.path}`, {
      method: c.method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'stripe-version': '2026-01-01',
        'idempotency-key': 'idem-1',
        ...DENIED_UP,
        ...headers,
      },
      body: c.method === 'POST' ? JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }) : undefined,
    });

  for (const c of CALLS) {
    it(`${c.vendor}: drops the headers that choose an account, a priced feature or a cookie, going up and coming back`, async () => {
      const { body: vk } = await issue(c.vendor, c.rule).expect(201);
      stub.clear();
      const res = await call(c, vk.vault_key, { 'x-unlisted-client-header': 'dropped' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();

      const [seen] = stub.seen();
      for (const name of [...Object.keys(DENIED_UP), 'x-unlisted-client-header']) expect(seen.headers[name], `${name} went up`).toBeUndefined();
      expect(seen.headers['content-type']).toBe('application/json');
      if (c.vendor === 'anthropic') expect(seen.headers['anthropic-version']).toBe('2023-06-01');
      if (c.vendor === 'stripe') expect(seen.headers['stripe-version']).toBe('2026-01-01');
      if (['openai', 'anthropic', 'stripe', 'resend'].includes(c.vendor)) expect(seen.headers['idempotency-key']).toBe('idem-1');

      for (const name of [...Object.keys(LEAKY_ANSWER), 'x-unlisted-upstream-header']) expect(res.headers.get(name), `${name} came back`).toBeNull();
      for (const name of c.returned) expect(res.headers.get(name), name).toBe(USEFUL_ANSWER[name]);
      expect(res.headers.get('content-type')).toBe('application/json');
    });
  }

  it("a vault key's allowed_headers lets more through, both ways, and only for that key", async () => {
    const anthropic = CALLS[1];
    const { body: wide } = await issue('anthropic', anthropic.rule, { allowed_headers: ['Anthropic-Beta', 'anthropic-organization-id'] }).expect(201);
    expect(wide.allowed_headers).toEqual(['anthropic-beta', 'anthropic-organization-id']);
    const { body: narrow } = await issue('anthropic', anthropic.rule).expect(201);
    expect(narrow.allowed_headers).toEqual([]);
    expect((await api.admin().get(`/vault/keys/${wide.id}`).set('Keyvault-Tenant', tenantId).expect(200)).body.allowed_headers).toEqual([
      'anthropic-beta',
      'anthropic-organization-id',
    ]);

    stub.clear();
    const res = await call(anthropic, wide.vault_key);
    expect(res.status).toBe(200);
    expect(res.headers.get('anthropic-organization-id')).toBe(LEAKY_ANSWER['anthropic-organization-id']);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(stub.seen()[0].headers['anthropic-beta']).toBe(DENIED_UP['anthropic-beta']);
    expect(stub.seen()[0].headers['stripe-account']).toBeUndefined();

    stub.clear();
    const plain = await call(anthropic, narrow.vault_key);
    expect(plain.headers.get('anthropic-organization-id')).toBeNull();
    expect(stub.seen()[0].headers['anthropic-beta']).toBeUndefined();
  });

  it('allowed_headers never lets a credential carrier or a hop-by-hop header through', async () => {
    for (const [i, bad] of [['authorization'], ['anthropic-beta', 'X-Api-Key'], ['transfer-encoding'], ['not a header']].entries()) {
      const res = await issue('anthropic', CALLS[1].rule, { allowed_headers: bad }).expect(400);
      expect(res.body.error, String(i)).toMatchObject({ code: 'parameter_invalid', param: `allowed_headers.${bad.length - 1}` });
    }
  });
});
