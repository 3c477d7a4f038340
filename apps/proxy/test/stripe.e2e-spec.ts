import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const REAL_KEY = 'sk_test_real_stripe_key_0001';

describe('proxy with the official Stripe SDK (host and port changed only)', () => {
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
    tenantId = await fx.tenant('Stripe user');
    credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: [REAL_KEY] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const stripe = (token: string) => new Stripe(token, { host: '127.0.0.1', port: proxy.port, protocol: 'http', maxNetworkRetries: 0 });
  const spend = async (id: string) =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]))[0];

  it('creates payment intents with the real key, counting the amount against the cap', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'] });
    stub.clear();
    const pi = await stripe(vk.token).paymentIntents.create({ amount: 1234, currency: 'usd' });
    expect(pi).toMatchObject({ object: 'payment_intent', amount: 1234, currency: 'usd' });

    const [seen] = stub.seen();
    expect(seen.path).toBe('/v1/payment_intents');
    expect(seen.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(JSON.stringify(seen.headers)).not.toContain('vault_key_');
    expect(new URLSearchParams(seen.body.toString()).get('amount')).toBe('1234');

    // $12.34
    expect(await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'settle')).toEqual({
      spent_nanos: '12340000000',
      reserved_nanos: '0',
    });
  });

  it('refuses a payment that would pass the cap, through the SDK, with 429 daily_cap_exceeded', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 10, allowed: ['POST /v1/payment_intents'] });
    stub.clear();
    await stripe(vk.token).paymentIntents.create({ amount: 600, currency: 'usd' });
    const err = (await stripe(vk.token).paymentIntents.create({ amount: 500, currency: 'usd' }).catch((e: unknown) => e)) as InstanceType<typeof Stripe.errors.StripeError>;
    expect(err).toBeInstanceOf(Stripe.errors.StripeError);
    expect(err.statusCode).toBe(429);
    expect(err.code).toBe('daily_cap_exceeded');
    expect(stub.seen()).toHaveLength(1);
  });

  it('also answers under the /stripe prefix, and reads cost nothing', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 1, allowed: ['GET /v1/customers/*'] });
    const res = await fetch(`${proxy.url}/stripe/v1/customers/cus_123`, { headers: { authorization: `Bearer ${vk.token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'cus_123', object: 'customer' });
    expect(await spend(vk.id)).toBeUndefined();
  });

  it('refuses a currency without a configured rate, and a money-moving call without an amount, as unpriced', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents', 'POST /v1/refunds'] });
    stub.clear();
    const err = (await stripe(vk.token).paymentIntents.create({ amount: 100, currency: 'eur' }).catch((e: unknown) => e)) as InstanceType<typeof Stripe.errors.StripeError>;
    expect(err.statusCode).toBe(422);
    expect(err.code).toBe('unpriced_request');
    expect(err.param).toBe('currency');
    const refund = await fetch(`${proxy.url}/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'charge=ch_1',
    });
    expect(refund.status).toBe(422);
    expect(((await refund.json()) as { error: unknown }).error).toMatchObject({ code: 'unpriced_request', param: 'amount' });
    expect(stub.seen()).toHaveLength(0);
  });

  it('accepts other currencies once the deployment configures a rate', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kv-prices-')), 'prices.json');
    writeFileSync(file, JSON.stringify({ stripe: { currencies: { eur: { usd_per_unit: 1.1, minor_unit_digits: 2 } } } }));
    const eurProxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url, KEYVAULT_PRICES_FILE: file });
    try {
      const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'] });
      const client = new Stripe(vk.token, { host: '127.0.0.1', port: eurProxy.port, protocol: 'http', maxNetworkRetries: 0 });
      await client.paymentIntents.create({ amount: 1000, currency: 'eur' });
      // €10.00 at 1.1 = $11
      expect(await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'settle')).toEqual({
        spent_nanos: '11000000000',
        reserved_nanos: '0',
      });
    } finally {
      await eurProxy.close();
    }
  });
});
