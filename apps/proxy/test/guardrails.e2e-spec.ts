import OpenAI from 'openai';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, startStripeStub, type OpenAiStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

/** Guardrails for autonomous agents (issue 19), through the real api, proxy and vendor SDKs. */
describe('vault-key guardrails', () => {
  let api: ApiHarness;
  let stripeStub: StubServer;
  let openaiStub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let stripeCred: string;
  let openaiCred: string;

  beforeAll(async () => {
    api = await startApi();
    stripeStub = await startStripeStub();
    openaiStub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_STRIPE: stripeStub.url,
      KEYVAULT_UPSTREAM_OPENAI: openaiStub.url,
    });
    tenantId = await fx.tenant('Agent platform');
    stripeCred = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_guardrails_0001'] })).id;
    openaiCred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-guardrails-0001'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stripeStub?.close();
    await openaiStub?.close();
    await fx?.close();
    await api?.close();
  });

  const stripe = (token: string) => new Stripe(token, { host: '127.0.0.1', port: proxy.port, protocol: 'http', maxNetworkRetries: 0 });
  const openai = (token: string) => new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  const auditRows = (vaultKeyId: string) =>
    eventually(async () => {
      const rows = await fx.query<{ id: string; status: number; error_code: string | null; cost_nanos: string }>(
        'SELECT id, status, error_code, cost_nanos FROM audit_log WHERE vault_key_id = $1 ORDER BY id',
        [vaultKeyId],
      );
      return rows.length > 0 ? rows : undefined;
    }, 'the audit rows');
  const view = async (id: string) => (await api.admin().get(`/vault/keys/${id}`).set('Keyvault-Tenant', tenantId)).body as Record<string, unknown>;

  describe('max_usd_per_call', () => {
    it('refuses a $5,000 payment intent on a key with max_usd_per_call 100: it never reaches Stripe', async () => {
      const vk = await fx.vaultKey(tenantId, {
        vendor: 'stripe', credentialId: stripeCred, capUsd: 10_000, allowed: ['POST /v1/payment_intents'], extra: { max_usd_per_call: 100 },
      });
      expect(await view(vk.id)).toMatchObject({ max_usd_per_call: 100, daily_usd_cap: 10_000 });
      stripeStub.clear();
      const err = (await stripe(vk.token).paymentIntents.create({ amount: 500_000, currency: 'usd' }).catch((e: unknown) => e)) as InstanceType<
        typeof Stripe.errors.StripeError
      >;
      expect(err).toBeInstanceOf(Stripe.errors.StripeError);
      expect(err.statusCode).toBe(403);
      expect(err.code).toBe('per_call_limit_exceeded');
      expect(err.type).toBe('StripePermissionError');
      expect(stripeStub.seen()).toHaveLength(0);

      // a payment within the limit goes through
      const pi = await stripe(vk.token).paymentIntents.create({ amount: 10_000, currency: 'usd' });
      expect(pi.amount).toBe(10_000);
      expect(stripeStub.seen()).toHaveLength(1);

      const rows = await eventually(async () => {
        const r = await auditRows(vk.id);
        return r.length === 2 ? r : undefined;
      }, 'both audit rows');
      expect(rows[0]).toMatchObject({ status: 403, error_code: 'per_call_limit_exceeded', cost_nanos: '0' });
      expect(rows[1]).toMatchObject({ status: 200, error_code: null, cost_nanos: '100000000000' });
    });

    it("refuses an LLM call whose worst case is above the limit, though its usage would be small", async () => {
      const vk = await fx.vaultKey(tenantId, {
        vendor: 'openai', credentialId: openaiCred, capUsd: 10, allowed: ['POST /v1/chat/completions'], extra: { max_usd_per_call: 0.01 },
      });
      openaiStub.clear();
      // gpt-4o: 16,384 output tokens at $10/M is about $0.16 worst case
      const err = (await openai(vk.token).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(err.status).toBe(403);
      expect((err.error as { code?: string }).code).toBe('per_call_limit_exceeded');
      // bounded by max_tokens, the worst case fits
      const ok = await openai(vk.token).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 });
      expect(ok.choices).toHaveLength(1);
      expect(openaiStub.seen()).toHaveLength(1);
    });

    it('is refused at issue when not a positive USD amount', async () => {
      const res = await api
        .admin()
        .post('/vault/keys')
        .set('Keyvault-Tenant', tenantId)
        .send({ vendor: 'stripe', credential: stripeCred, daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', max_usd_per_call: -1 });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'max_usd_per_call' });
    });
  });

  describe('allowed_models', () => {
    it('refuses gpt-4o on a key allowed only gpt-4o-mini, before it reaches OpenAI', async () => {
      const vk = await fx.vaultKey(tenantId, {
        vendor: 'openai', credentialId: openaiCred, capUsd: 10, allowed: ['POST /v1/chat/completions'], extra: { allowed_models: ['gpt-4o-mini'] },
      });
      expect(await view(vk.id)).toMatchObject({ allowed_models: ['gpt-4o-mini'], max_usd_per_call: null });
      openaiStub.clear();
      const err = (await openai(vk.token).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(err.status).toBe(403);
      expect(err.error).toMatchObject({ code: 'model_not_allowed', param: 'model', type: 'permission_error' });
      expect(openaiStub.seen()).toHaveLength(0);
      const ok = await openai(vk.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
      expect(ok.choices).toHaveLength(1);
      expect(openaiStub.seen()).toHaveLength(1);
      const rows = await eventually(async () => {
        const r = await auditRows(vk.id);
        return r.length === 2 ? r : undefined;
      }, 'both audit rows');
      expect(rows[0]).toMatchObject({ status: 403, error_code: 'model_not_allowed' });
    });

    it('matches globs: a dated snapshot passes gpt-4o-mini*', async () => {
      const vk = await fx.vaultKey(tenantId, {
        vendor: 'openai', credentialId: openaiCred, capUsd: 10, allowed: ['POST /v1/chat/completions'], extra: { allowed_models: ['gpt-4o-mini*', 'o4-*'] },
      });
      const ok = await openai(vk.token).chat.completions.create({ model: 'gpt-4o-mini-2024-07-18', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
      expect(ok.choices).toHaveLength(1);
      const err = (await openai(vk.token).chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(err.status).toBe(403);
    });

    it('is refused at issue for a vendor that has no models', async () => {
      const res = await api
        .admin()
        .post('/vault/keys')
        .set('Keyvault-Tenant', tenantId)
        .send({ vendor: 'stripe', credential: stripeCred, daily_usd_cap: 10, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '1h', allowed_models: ['gpt-4o'] });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'allowed_models' });
    });
  });
});
