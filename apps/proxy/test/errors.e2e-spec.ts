import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secondsUntilUtcMidnight } from '@keyvault/policy';
import { startOpenAiStub, startStripeStub, type OpenAiStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
/** CHAT's worst case: every body byte an input token at $0.15/M, 8 output tokens at $0.60/M */
const CHAT_WORST_NANOS = BigInt(Buffer.byteLength(CHAT)) * 150n + 8n * 600n;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('proxy refusals and upstream failures', () => {
  let api: ApiHarness;
  let openai: OpenAiStub;
  let stripe: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let openaiCred: string;
  let stripeCred: string;

  beforeAll(async () => {
    // the api accepts loopback base_urls here, so the proxy's own call-time check can be seen
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    openai = await startOpenAiStub();
    stripe = await startStripeStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: openai.url,
      KEYVAULT_UPSTREAM_STRIPE: stripe.url,
      KEYVAULT_UPSTREAM_TIMEOUT_MS: '300',
      KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS: '300',
      KEYVAULT_MAX_BODY_BYTES: '2048',
    });
    tenantId = await fx.tenant('Errors');
    openaiCred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-errors'] })).id;
    stripeCred = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_real_errors'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await openai?.close();
    await stripe?.close();
    await fx?.close();
    await api?.close();
  });

  const openaiKey = (capUsd = 5) => fx.vaultKey(tenantId, { vendor: 'openai', credentialId: openaiCred, capUsd, allowed: ['POST /v1/chat/completions'] });
  const stripeKey = (capUsd = 100) => fx.vaultKey(tenantId, { vendor: 'stripe', credentialId: stripeCred, capUsd, allowed: ['POST /v1/payment_intents'] });
  const spend = async (id: string) =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]))[0];
  const errorOf = (body: string) => (JSON.parse(body) as { error: { type: string; code: string; message: string } }).error;

  describe('allowlist', () => {
    it.each([
      '/stripe/v1/payment_intents/../refunds',
      '/stripe/v1/payment_intents/%2e%2e/refunds',
      '/stripe/v1/payment_intents/%2E%2E/refunds',
      '/stripe/v1/payment_intents%2f..%2frefunds',
      '/stripe/v1/payment_intents%2F..%2Frefunds',
      '/stripe/v1/payment_intents%5c..%5crefunds',
      '/stripe/v1//refunds',
      '/stripe/v1/./refunds',
      '/stripe//v1/refunds',
      '/stripe/v1/%252e%252e/refunds',
      '/stripe/v1/ref%75nds',
      '/v1/payment_intents/../refunds',
      '/openai/../stripe/v1/refunds',
      '/stripe/v1/payment_intents/pi_1/../../refunds',
      '/stripe/v1/payment_intents/x/..%2f..%2frefunds',
    ])('%s → 403 endpoint_not_allowed, nothing forwarded', async (path) => {
      const vk = await stripeKey();
      stripe.clear();
      const res = await rawRequest(proxy.port, 'POST', path, { authorization: `Bearer ${vk.token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'amount=100&currency=usd');
      expect(res.status).toBe(403);
      expect(errorOf(res.body)).toMatchObject({ type: 'permission_error', code: 'endpoint_not_allowed' });
      expect(stripe.seen()).toHaveLength(0);
    });

    it('refuses other methods and paths of the vendor (403 endpoint_not_allowed)', async () => {
      const vk = await stripeKey();
      for (const [method, path] of [['GET', '/v1/payment_intents'], ['POST', '/v1/payment_intents/pi_1/confirm'], ['DELETE', '/v1/customers/cus_1']]) {
        const res = await rawRequest(proxy.port, method, path, { authorization: `Bearer ${vk.token}` });
        expect(res.status).toBe(403);
        expect(errorOf(res.body).code).toBe('endpoint_not_allowed');
      }
      expect(stripe.seen()).toHaveLength(0);
    });

    it('forwards the normalised path with the original query string', async () => {
      const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId: stripeCred, capUsd: 1, allowed: ['GET /v1/customers'] });
      stripe.clear();
      const res = await rawRequest(proxy.port, 'GET', '/stripe/v1//./customers?limit=3&email=a%40b.c', { authorization: `Bearer ${vk.token}` });
      expect(res.status).toBe(200);
      expect(stripe.seen()[0].url).toBe('/v1/customers?limit=3&email=a%40b.c');
    });
  });

  it('refuses a key for another vendor with 403 vendor_mismatch', async () => {
    const vk = await stripeKey();
    const res = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
    expect(res.status).toBe(403);
    expect(errorOf(res.body)).toMatchObject({ type: 'permission_error', code: 'vendor_mismatch' });
    expect(openai.seen().filter((r) => r.headers.authorization === 'Bearer sk_test_real_errors')).toHaveLength(0);
  });

  it('refuses a call over the cap with 429 daily_cap_exceeded and Retry-After = seconds to UTC midnight', async () => {
    const vk = await stripeKey(10);
    const pay = (amount: number) =>
      rawRequest(proxy.port, 'POST', '/v1/payment_intents', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/x-www-form-urlencoded' }, `amount=${amount}&currency=usd`);
    expect((await pay(1000)).status).toBe(200);
    stripe.clear();
    const low = secondsUntilUtcMidnight();
    const res = await pay(1);
    const high = secondsUntilUtcMidnight();
    expect(res.status).toBe(429);
    expect(errorOf(res.body)).toMatchObject({ type: 'rate_limit_error', code: 'daily_cap_exceeded' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(high);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(low);
    expect(stripe.seen()).toHaveLength(0);
    // a money-moving call larger than the whole cap is refused outright too
    const fresh = await stripeKey(10);
    const big = await rawRequest(proxy.port, 'POST', '/v1/payment_intents', { authorization: `Bearer ${fresh.token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'amount=1001&currency=usd');
    expect(big.status).toBe(429);
  });

  it('answers 504 upstream_timeout when the upstream hangs, and books exactly the worst case (the request went out)', async () => {
    const vk = await openaiKey();
    openai.fail('*', { kind: 'hang' });
    try {
      const res = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(504);
      expect(errorOf(res.body)).toMatchObject({ type: 'api_error', code: 'upstream_timeout' });
    } finally {
      openai.clearFailures();
    }
    const after = await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'settle');
    expect(BigInt(after.spent_nanos)).toBe(CHAT_WORST_NANOS);
  });

  it('answers 502 upstream_unreachable when the upstream drops the connection, and books exactly the worst case (the request went out)', async () => {
    const vk = await openaiKey();
    openai.fail('*', { kind: 'reset' });
    try {
      const res = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(502);
      expect(errorOf(res.body)).toMatchObject({ type: 'api_error', code: 'upstream_unreachable' });
    } finally {
      openai.clearFailures();
    }
    const after = await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'settle');
    expect(BigInt(after.spent_nanos)).toBe(CHAT_WORST_NANOS);
  });

  it('gives LLM vendors their own, longer time to first byte: a chat slower than the short limit is answered, a Stripe call as slow times out', async () => {
    // a Stripe upstream that accepts and never answers
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: openai.url,
      KEYVAULT_UPSTREAM_STRIPE: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      KEYVAULT_UPSTREAM_TIMEOUT_MS: '300',
      KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS: '120000',
    });
    try {
      const llm = await openaiKey();
      const pay = await stripeKey();
      openai.clear();
      openai.hold('headers');
      const chat = rawRequest(slow.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${llm.token}`, 'content-type': 'application/json' }, CHAT);
      await eventually(async () => openai.seen().length === 1 || undefined, 'the chat to reach the stub');
      // started after the chat and timed out at the short limit: the chat has waited longer than that by now
      const stripeCall = await rawRequest(slow.port, 'POST', '/v1/payment_intents', { authorization: `Bearer ${pay.token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'amount=100&currency=usd');
      expect(stripeCall.status).toBe(504);
      expect(errorOf(stripeCall.body).code).toBe('upstream_timeout');
      openai.release();
      expect((await chat).status).toBe(200);
    } finally {
      openai.hold(null);
      openai.release();
      await slow.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('answers 502 upstream_unreachable when the upstream refuses connections', async () => {
    const dead = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: `http://127.0.0.1:${await closedPort()}` });
    try {
      const vk = await openaiKey();
      const res = await rawRequest(dead.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(502);
      expect(errorOf(res.body).code).toBe('upstream_unreachable');
      expect(await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'release')).toEqual({ spent_nanos: '0', reserved_nanos: '0' });
    } finally {
      await dead.close();
    }
  });

  it('refuses a body over KEYVAULT_MAX_BODY_BYTES with 413 request_too_large, declared or streamed', async () => {
    const vk = await openaiKey();
    openai.clear();
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
    const declared = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, big);
    expect(declared.status).toBe(413);
    expect(errorOf(declared.body)).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    const streamed = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big);
    expect(streamed.status).toBe(413);
    expect(openai.seen()).toHaveLength(0);
  });

  it('refuses a profile base_url on a private address unless private upstreams are allowed, without connecting', async () => {
    const strict = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'false' });
    try {
      const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-private'], baseUrl: `https://127.0.0.1:${openai.port}` })).id;
      const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 1, allowed: ['POST /v1/chat/completions'] });
      openai.clear();
      const res = await rawRequest(strict.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(502);
      expect(errorOf(res.body).code).toBe('upstream_unreachable');
      expect(openai.seen()).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('sends a profile base_url override to that address when private upstreams are allowed', async () => {
    const other = await startOpenAiStub();
    try {
      const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-override'], baseUrl: `${other.url}/` })).id;
      const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 1, allowed: ['POST /v1/chat/completions'] });
      const res = await rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
      expect(res.status).toBe(200);
      expect(other.seen().map((r) => [r.path, r.headers.authorization])).toEqual([['/v1/chat/completions', 'Bearer sk-real-override']]);
    } finally {
      await other.close();
    }
  });
});
