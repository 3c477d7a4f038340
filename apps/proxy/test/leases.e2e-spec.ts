import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriceBook } from '@keyvault/policy';
import { startOpenAiStub, startStripeStub, type OpenAiStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

/** A chat whose worst case (every body byte a token, 100 output tokens) is far above what it costs (3.6 micro-dollars). */
const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'Say meow' }] });
const prices = PriceBook.load();
const CHAT_WORST = Number(prices.tokenCost(prices.model('openai', 'gpt-4o-mini')!, Buffer.byteLength(CHAT), 100));
/** 12 prompt + 3 completion tokens (the stub's usage) at $0.15 / $0.60 per million: 3.6 µ$ */
const CHAT_COST = 3_600;

describe('budget leases keep caps exact', () => {
  let api: ApiHarness;
  let stripe: StubServer;
  let openai: OpenAiStub;
  let fx: ProxyFixtures;
  let a: ProxyHarness;
  let b: ProxyHarness;
  let tenantId: string;
  let stripeCred: string;
  let openaiCred: string;

  beforeAll(async () => {
    api = await startApi();
    stripe = await startStripeStub();
    openai = await startOpenAiStub();
    fx = await proxyFixtures(api);
    const upstreams = { KEYVAULT_UPSTREAM_STRIPE: stripe.url, KEYVAULT_UPSTREAM_OPENAI: openai.url };
    a = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { ...upstreams, KEYVAULT_INSTANCE_ID: 'leases-a' });
    b = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { ...upstreams, KEYVAULT_INSTANCE_ID: 'leases-b' });
    tenantId = await fx.tenant('Leases');
    stripeCred = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_real_leases'] })).id;
    openaiCred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-leases'] })).id;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stripe?.close();
    await openai?.close();
    await fx?.close();
    await api?.close();
  });

  // identical charge bodies are distinct payments in these tests, not duplicates of one
  const stripeKey = (capUsd: number) =>
    fx.vaultKey(tenantId, { vendor: 'stripe', credentialId: stripeCred, capUsd, allowed: ['POST /v1/charges'], extra: { duplicate_window: '0' } });
  const openaiKey = (capUsd: number) => fx.vaultKey(tenantId, { vendor: 'openai', credentialId: openaiCred, capUsd, allowed: ['POST /v1/chat/completions'] });
  /** a $1 charge */
  const charge = (proxy: ProxyHarness, token: string) =>
    rawRequest(proxy.port, 'POST', '/v1/charges', { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'amount=100&currency=usd&source=tok_visa').then((r) => r.status);
  const chat = (proxy: ProxyHarness, token: string) =>
    rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, CHAT).then((r) => r.status);
  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;
  /** The key's spend once every lease on it is booked and given back. */
  const settled = (vaultKeyId: string) =>
    eventually(async () => {
      const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vaultKeyId]);
      const leases = await fx.query('SELECT 1 FROM spend_reservations WHERE vault_key_id = $1', [vaultKeyId]);
      return s && s.reserved_nanos === '0' && leases.length === 0 ? Number(s.spent_nanos) : undefined;
    }, 'every lease on the key to be given back');

  it('lets exactly each cap through on many keys at once, over two instances', async () => {
    const keys = await Promise.all(Array.from({ length: 12 }, () => stripeKey(5)));
    stripe.clear();
    const statuses = await Promise.all(keys.map((k) => Promise.all(Array.from({ length: 16 }, (_, i) => charge(i % 2 ? a : b, k.token)))));
    for (const s of statuses) {
      expect(count(s, 200)).toBe(5);
      expect(count(s, 429)).toBe(11);
    }
    expect(stripe.seen()).toHaveLength(12 * 5);
    for (const k of keys) expect(await settled(k.id)).toBe(5_000_000_000);
  });

  it('lets the whole calls that fit a cap that is no multiple of their cost through, and strands nothing', async () => {
    const vk = await stripeKey(10.5);
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => charge(i % 2 ? a : b, vk.token)));
    expect(count(statuses, 200)).toBe(10);
    expect(await settled(vk.id)).toBe(10_000_000_000);
  });

  it('serves the last dollar to whichever instance races for it, exactly once', async () => {
    const vk = await stripeKey(1);
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => charge(i % 2 ? a : b, vk.token)));
    expect(count(statuses, 200)).toBe(1);
    expect(await settled(vk.id)).toBe(1_000_000_000);
  });

  it('lets the last calls of a key near its cap through on the instances that have room', async () => {
    const vk = await stripeKey(10);
    for (let i = 0; i < 8; i++) expect(await charge(a, vk.token)).toBe(200);
    // a may still hold some of the rest in its lease; together they pass exactly what is left
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => charge(i % 2 ? a : b, vk.token)));
    expect(count(statuses, 200)).toBe(2);
    expect(await settled(vk.id)).toBe(10_000_000_000);
  });

  it('gives an idle lease back, so that another instance can spend what it did not use', async () => {
    const vk = await stripeKey(10);
    for (let i = 0; i < 6; i++) expect(await charge(a, vk.token)).toBe(200);
    expect(await settled(vk.id)).toBe(6_000_000_000);
    const onB: number[] = [];
    for (let i = 0; i < 5; i++) onB.push(await charge(b, vk.token));
    expect(onB).toEqual([200, 200, 200, 200, 429]);
    expect(await settled(vk.id)).toBe(10_000_000_000);
  });

  it('fits more LLM calls than worst cases when they settle below their reservation, exactly on one instance', async () => {
    const capNanos = 5 * CHAT_WORST;
    const vk = await openaiKey(capNanos / 1e9);
    let passed = 0;
    let last = 0;
    while ((last = await chat(a, vk.token)) === 200) passed++;
    expect(last).toBe(429);
    // call i passes while what was spent before it leaves room for its worst case
    expect(passed).toBe(Math.floor((capNanos - CHAT_WORST) / CHAT_COST) + 1);
    expect(passed).toBeGreaterThan(5);
    expect(await settled(vk.id)).toBe(passed * CHAT_COST);
  });

  it('never passes the cap with LLM calls racing on two instances, and books exactly what they cost', async () => {
    const capNanos = 10 * CHAT_WORST;
    const vk = await openaiKey(capNanos / 1e9);
    let passed = 0;
    for (let wave = 0; wave < 8; wave++) {
      const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(i % 2 ? a : b, vk.token)));
      passed += count(statuses, 200);
      expect(count(statuses, 200) + count(statuses, 429)).toBe(30);
    }
    // at least the worst cases fit, and settling below them let more through
    expect(passed).toBeGreaterThan(10);
    const spent = await settled(vk.id);
    expect(spent).toBe(passed * CHAT_COST);
    expect(spent).toBeLessThanOrEqual(capNanos);
  });
});
