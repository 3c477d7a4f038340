import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKeyPair } from '@keyvault/crypto';
import { FailedAuthLimiter } from '@keyvault/net';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../harness/api';
import { startProxy, type ProxyHarness } from '../harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../harness/proxy-fixtures';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

/** One call from a chosen loopback source address (127.0.0.0/8 is all ours). */
function callFrom(
  port: number,
  localAddress: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, localAddress, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('failed authentications and tokens in the wrong place', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let valid: string;
  let forged: string[];

  beforeAll(async () => {
    // 127.0.0.30 plays a load balancer: only what it writes into X-Forwarded-For is believed
    api = await startApi({ KEYVAULT_FAILED_AUTH_LIMIT: '5', KEYVAULT_TRUSTED_PROXIES: '127.0.0.30' });
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: stub.url,
      KEYVAULT_FAILED_AUTH_LIMIT: '5',
      KEYVAULT_TRUSTED_PROXIES: '127.0.0.30, 10.0.0.0/8',
    });
    tenantId = await fx.tenant('Limits');
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-auth-limits'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    valid = vk.token;
    // well-formed tokens for a real key id and tenant, signed by a key the vault never made
    const attacker = generateSigningKeyPair((await fx.signingKey()).kid);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    forged = await Promise.all(Array.from({ length: 6 }, () => fx.sign(attacker, { sub: vk.id, ten: tenantId, ven: 'openai', exp })));
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });
  afterEach(() => vi.restoreAllMocks());

  const chatFrom = (address: string, token: string, headers: Record<string, string> = {}) =>
    callFrom(proxy.port, address, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, CHAT);
  /** Five failures (the limit) from one client, each a plain 401. */
  const failFiveTimes = async (send: (token: string) => Promise<{ status: number; body: any }>) => {
    for (const token of [...forged.slice(0, 3), 'vault_key_not-even-a-jws', 'sk-some-provider-key-by-mistake']) {
      const res = await send(token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_vault_key');
    }
  };

  it('proxy: past the limit an address\'s invalid keys get 429, while its valid keys are still served', async () => {
    await failFiveTimes((t) => chatFrom('127.0.0.21', t));
    const blocked = await chatFrom('127.0.0.21', forged[3]);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_authentications' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await chatFrom('127.0.0.21', 'vault_key_garbage')).status).toBe(429);
    // a valid key from that very address: served, and every time
    stub.clear();
    for (let i = 0; i < 3; i++) expect((await chatFrom('127.0.0.21', valid)).status).toBe(200);
    expect(stub.seen()).toHaveLength(3);
    // still refused failures afterwards: a success does not reset the count
    expect((await chatFrom('127.0.0.21', forged[4])).status).toBe(429);
    // other addresses are untouched
    expect((await chatFrom('127.0.0.23', forged[4])).status).toBe(401);
  });

  it('proxy: an expired or revoked real key is not counted as a guess', async () => {
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-auth-limits-2'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    await api.admin().delete(`/vault/keys/${vk.id}`).set('Keyvault-Tenant', tenantId).expect(200);
    for (let i = 0; i < 8; i++) expect((await chatFrom('127.0.0.24', vk.token)).body.error.code).toBe('vault_key_revoked');
    expect((await chatFrom('127.0.0.24', forged[0])).status).toBe(401);
  });

  it('proxy: valid callers never reach the limiter (no limiter call, no extra query)', async () => {
    const failed = vi.spyOn(FailedAuthLimiter.prototype, 'failed');
    expect((await chatFrom('127.0.0.25', valid)).status).toBe(200);
    const queries = await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'vault_key_state');
    for (let i = 0; i < 20; i++) expect((await chatFrom('127.0.0.25', valid)).status).toBe(200);
    expect(failed).not.toHaveBeenCalled();
    expect(await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'vault_key_state')).toBe(queries);
  });

  it('proxy: behind a trusted proxy each client behind it is counted apart, by X-Forwarded-For', async () => {
    const via = (client: string, token: string) => chatFrom('127.0.0.30', token, { 'x-forwarded-for': `${client}, 10.1.2.3` });
    await failFiveTimes((t) => via('198.51.100.7', t));
    expect((await via('198.51.100.7', forged[0])).status).toBe(429);
    // the load balancer's other clients, and the refused one's valid key, go through
    expect((await via('198.51.100.8', forged[0])).status).toBe(401);
    expect((await via('198.51.100.7', valid)).status).toBe(200);
    expect((await chatFrom('127.0.0.30', forged[0])).status).toBe(401); // the balancer itself (no header) is another client
    // from an address that is not trusted, the header is the client's own claim and is ignored
    await failFiveTimes((t) => chatFrom('127.0.0.31', t, { 'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 250)}` }));
    expect((await chatFrom('127.0.0.31', forged[0], { 'x-forwarded-for': '203.0.113.251' })).status).toBe(429);
  });

  it('proxy: IPv6 clients are counted per /64', async () => {
    const via = (client: string, token: string) => chatFrom('127.0.0.30', token, { 'x-forwarded-for': client });
    await failFiveTimes((t) => via('2001:db8:aa:1::1', t));
    expect((await via('2001:db8:aa:1:ffff:ffff:ffff:fffe', forged[0])).status).toBe(429);
    expect((await via('2001:db8:aa:2::1', forged[0])).status).toBe(401);
    expect((await via('2001:db8:aa:1::1', valid)).status).toBe(200);
  });

  it('api: past the limit an address\'s invalid tenant API keys get 429, while its valid key is still served', async () => {
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'limits' }).expect(201);
    const wrongSecret = k.api_key.slice(0, -4) + (k.api_key.endsWith('aaaa') ? 'bbbb' : 'aaaa');
    const list = (address: string, key: string, headers: Record<string, string> = {}) =>
      callFrom(port, address, 'GET', '/vault/keys', { authorization: `Bearer ${key}`, ...headers });
    for (const bad of [wrongSecret, 'kv_live_nothing', 'x'.repeat(40), wrongSecret, 'kv_live_still_nothing']) {
      const res = await list('127.0.0.41', bad);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_api_key');
    }
    const blocked = await list('127.0.0.41', wrongSecret);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('too_many_failed_authentications');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await list('127.0.0.41', k.api_key)).status).toBe(200);
    expect((await list('127.0.0.41', api.config.KEYVAULT_ADMIN_TOKEN, { 'keyvault-tenant': tenantId })).status).toBe(200);
    expect((await list('127.0.0.42', wrongSecret)).status).toBe(401);
    // behind the trusted proxy, per client
    for (let i = 0; i < 5; i++) expect((await list('127.0.0.30', wrongSecret, { 'x-forwarded-for': '2001:db8:bb:1::7' })).status).toBe(401);
    expect((await list('127.0.0.30', wrongSecret, { 'x-forwarded-for': '2001:db8:bb:1::8' })).status).toBe(429);
    expect((await list('127.0.0.30', wrongSecret, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(401);
    expect((await list('127.0.0.30', k.api_key, { 'x-forwarded-for': '2001:db8:bb:1::8' })).status).toBe(200);
  });

  it('proxy: a vault key in the query string is refused and nothing is forwarded', async () => {
    stub.clear();
    for (const query of [`key=${valid}`, `api_key=${valid}`, `x=${encodeURIComponent(valid).replace(/_/g, '%5F')}`]) {
      const res = await callFrom(proxy.port, '127.0.0.26', 'POST', `/openai/v1/chat/completions?${query}`, { authorization: `Bearer ${valid}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_vault_key');
      expect(JSON.stringify(res.body)).not.toContain(valid);
    }
    expect(stub.seen()).toHaveLength(0);
  });

  it('api: a tenant API key or the admin token in the query string is refused, under any parameter name', async () => {
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'query' }).expect(201);
    const admin = api.config.KEYVAULT_ADMIN_TOKEN;
    for (const query of [`api_key=${k.api_key}`, `access_token=${admin}`, `token=${admin}`, `key=${k.api_key}`, `q=${k.api_key}`, `q=${k.api_key.replace(/_/g, '%5F')}`]) {
      const res = await callFrom(port, '127.0.0.27', 'GET', `/vault/keys?${query}`, { authorization: `Bearer ${k.api_key}` });
      expect(res.status, query).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'token_in_query' });
      expect(JSON.stringify(res.body)).not.toContain(k.api_key);
    }
  });
});
