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
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url, KEYVAULT_FAILED_AUTH_LIMIT: '5' });
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

  const chatFrom = (address: string, token: string) =>
    callFrom(proxy.port, address, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, CHAT);

  it('proxy: an address sending invalid or forged vault keys is refused with 429 after the limit; another address is served', async () => {
    for (const token of [...forged.slice(0, 3), 'vault_key_not-even-a-jws', 'sk-some-provider-key-by-mistake']) {
      const res = await chatFrom('127.0.0.21', token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_vault_key');
    }
    const blocked = await chatFrom('127.0.0.21', forged[3]);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_authentications' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // refused before the token is looked at, even a valid one
    expect((await chatFrom('127.0.0.21', valid)).status).toBe(429);
    // other addresses are untouched, whether valid or failing once
    stub.clear();
    expect((await chatFrom('127.0.0.22', valid)).status).toBe(200);
    expect((await chatFrom('127.0.0.23', forged[4])).status).toBe(401);
    expect(stub.seen()).toHaveLength(1);
  });

  it('proxy: an expired or revoked real key is not counted as a guess', async () => {
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-auth-limits-2'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    await api.admin().delete(`/vault/keys/${vk.id}`).set('Keyvault-Tenant', tenantId).expect(200);
    for (let i = 0; i < 8; i++) expect((await chatFrom('127.0.0.24', vk.token)).body.error.code).toBe('vault_key_revoked');
  });

  it('proxy: valid callers never reach the limiter (one Map lookup, no limiter call, no extra query)', async () => {
    const blockedFor = vi.spyOn(FailedAuthLimiter.prototype, 'blockedFor');
    const record = vi.spyOn(FailedAuthLimiter.prototype, 'recordFailure');
    expect((await chatFrom('127.0.0.25', valid)).status).toBe(200);
    const queries = await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'vault_key_state');
    for (let i = 0; i < 20; i++) expect((await chatFrom('127.0.0.25', valid)).status).toBe(200);
    expect(blockedFor).not.toHaveBeenCalled();
    expect(record).not.toHaveBeenCalled();
    expect(await proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'vault_key_state')).toBe(queries);
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
