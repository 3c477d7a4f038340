import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToNanos } from '@keyvault/policy';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';

interface Usage {
  group_by: string;
  total_usd: number;
  calls: number;
  data: { key: string | null; label: string | null; spent_usd: number; calls: number; refused: number }[];
  refusals: { code: string; count: number }[];
}

const nanos = (usd: number) => usdToNanos(usd)!;
const sum = (u: Usage) => u.data.reduce((s, b) => s + nanos(b.spent_usd), 0n);

describe('GET /usage: spend from the audit log, equal to the keys’ spend to the nano-dollar', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startStripeStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url });
    tenantId = await fx.tenant('Usage');
    credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_usage_real_key_0001'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const stripe = (token: string) => new Stripe(token, { host: '127.0.0.1', port: proxy.port, protocol: 'http', maxNetworkRetries: 0 });
  const get = (p: string) => api.admin().get(p).set('Keyvault-Tenant', tenantId);
  const usage = async (q: string): Promise<Usage> => (await get(`/usage?${q}`).expect(200)).body;

  it('sums per key, label, profile, hour and day to exactly what the keys spent', async () => {
    const a = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 50, allowed: ['POST /v1/payment_intents'], label: 'chat-a' });
    const b = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 50, allowed: ['POST /v1/payment_intents'], label: 'chat-b' });
    for (const amount of [1234, 1, 999]) await stripe(a.token).paymentIntents.create({ amount, currency: 'usd' });
    for (const amount of [4321, 7]) await stripe(b.token).paymentIntents.create({ amount, currency: 'usd' });
    // over the cap: refused, costs nothing, counted as a refusal
    await expect(stripe(b.token).paymentIntents.create({ amount: 5000, currency: 'usd' })).rejects.toMatchObject({ statusCode: 429 });

    const spentOf = async (id: string) => nanos((await get(`/vault/keys/${id}`).expect(200)).body.spent_today_usd);
    // a call's cost is booked once its outcome row is written, a moment after its answer
    const expected = { [a.id]: 22_340_000_000n, [b.id]: 43_280_000_000n };
    await expect.poll(async () => ({ [a.id]: await spentOf(a.id), [b.id]: await spentOf(b.id) }), { timeout: 10_000 }).toEqual(expected);
    const total = expected[a.id] + expected[b.id];

    let byKey!: Usage;
    await expect
      .poll(async () => {
        byKey = await usage('group_by=vault_key');
        // a call's audit row comes with its outcome, after the answer: wait for the outcomes
        return [byKey.calls, nanos(byKey.total_usd), byKey.refusals.length];
      }, { timeout: 10_000 })
      .toEqual([6, total, 1]);
    expect(byKey.data.map((r) => [r.key, r.label, nanos(r.spent_usd), r.calls, r.refused])).toEqual([
      [b.id, 'chat-b', expected[b.id], 3, 1],
      [a.id, 'chat-a', expected[a.id], 3, 0],
    ]);
    expect(nanos(byKey.total_usd)).toBe(total);
    expect(byKey.refusals).toEqual([{ code: 'daily_cap_exceeded', count: 1 }]);

    const byLabel = await usage('group_by=label');
    expect(byLabel.data.map((r) => [r.key, nanos(r.spent_usd)])).toEqual([['chat-b', expected[b.id]], ['chat-a', expected[a.id]]]);
    const byProfile = await usage('group_by=credential');
    expect(byProfile.data).toHaveLength(1);
    expect(byProfile.data[0].key).toBe(credentialId);
    expect(nanos(byProfile.data[0].spent_usd)).toBe(total);

    const hourly = await usage('group_by=hour');
    expect(hourly.data.length).toBeGreaterThanOrEqual(24);
    expect(hourly.data.length).toBeLessThanOrEqual(25);
    expect(sum(hourly)).toBe(total);
    expect(hourly.data.at(-1)!.calls).toBe(6);
    const daily = await usage('group_by=day');
    expect(daily.data.length).toBeGreaterThanOrEqual(30);
    expect(sum(daily)).toBe(total);
    expect(daily.data.at(-1)!.key).toBe(new Date().toISOString().slice(0, 10));

    // a range that holds none of it
    const before = await usage('group_by=vault_key&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect(before).toMatchObject({ total_usd: 0, calls: 0, data: [], refusals: [] });
  });

  it('refuses an unknown grouping and an empty range, and needs audit:read', async () => {
    expect((await get('/usage?group_by=tenant').expect(400)).body.error.param).toBe('group_by');
    expect((await get('/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z').expect(400)).body.error.param).toBe('to');
    const issuer = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'issuer', scopes: ['vault_keys:issue'] }).expect(201)).body.api_key;
    await api.http.get('/usage').set('Authorization', `Bearer ${issuer}`).expect(403);
  });
});
