import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const DAY_MS = 86_400_000;
const USD = 1_000_000_000n;

/**
 * Budgets above a vault key's day (issue 19): its lifetime cap, its profile's daily and monthly
 * caps, its tenant's monthly cap. Through the real api and proxies (two instances on one
 * database), with Stripe calls whose cost is known before they are sent.
 */
describe('budgets above the key', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let a: ProxyHarness;
  let b: ProxyHarness;
  /** a third instance living one UTC day later (a test-only clock offset) */
  let tomorrow: ProxyHarness;

  beforeAll(async () => {
    api = await startApi();
    stub = await startStripeStub();
    fx = await proxyFixtures(api);
    const env = { KEYVAULT_UPSTREAM_STRIPE: stub.url };
    a = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, env);
    b = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, env);
    tomorrow = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { ...env, KEYVAULT_TEST_CLOCK_OFFSET_MS: String(DAY_MS) });
  });
  afterAll(async () => {
    await tomorrow?.close();
    await a?.close();
    await b?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const inTenant = (tenantId: string) => ({
    get: (path: string) => api.admin().get(path).set('Keyvault-Tenant', tenantId),
    patch: (path: string) => api.admin().patch(path).set('Keyvault-Tenant', tenantId),
  });
  /** a Stripe charge of `cents` (its cost is known before it is sent) */
  const charge = (proxy: ProxyHarness, token: string, cents = 100, tag = '') =>
    rawRequest(proxy.port, 'POST', '/v1/charges', { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      `amount=${cents}&currency=usd&source=tok_visa${tag ? `&description=${tag}` : ''}`);
  const burst = (n: number, token: (i: number) => string, cents = 100) =>
    Promise.all(Array.from({ length: n }, (_, i) => charge([a, b][i % 2], token(i), cents).then((r) => r.status)));
  /** a budget's row once every lease on it is given back */
  const settledBudget = (subjectId: string, period: string) =>
    eventually(async () => {
      const [row] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>(
        'SELECT spent_nanos, reserved_nanos FROM budget_spend WHERE subject_id = $1 AND period = $2', [subjectId, period]);
      return row && row.reserved_nanos === '0' ? BigInt(row.spent_nanos) : undefined;
    }, `the ${subjectId} ${period} budget to settle`);
  const refusals = (vaultKeyIds: string[]) =>
    fx.query<{ error_code: string; status: number }>(
      'SELECT error_code, status FROM audit_log WHERE vault_key_id = ANY($1) AND status <> 0 AND error_code IS NOT NULL', [vaultKeyIds]);
  const stripeKeys = async (name: string) => {
    const tenantId = await fx.tenant(name);
    const credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_budgets_0001'] })).id;
    return { tenantId, credentialId };
  };
  const key = (tenantId: string, credentialId: string, capUsd: number | null, extra: Record<string, unknown> = {}) =>
    fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd, allowed: ['POST /v1/charges'], extra: { duplicate_window: '0', ...extra } });

  describe('total_usd_cap', () => {
    it('lets exactly $5 of 40 concurrent $1 charges through a key with only a $5 lifetime cap, over two instances', async () => {
      const { tenantId, credentialId } = await stripeKeys('Lifetime');
      const vk = await key(tenantId, credentialId, null, { total_usd_cap: 5 });
      stub.clear();
      const statuses = await burst(40, () => vk.token);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(35);
      expect(stub.seen()).toHaveLength(5);
      expect(await settledBudget(vk.id, 'total')).toBe(5n * USD);
      const rows = await eventually(async () => ((await refusals([vk.id])).length === 35 ? refusals([vk.id]) : undefined), 'the refusals to be audited');
      expect(new Set(rows.map((r) => `${r.status} ${r.error_code}`))).toEqual(new Set(['429 total_cap_exceeded']));
      const view = (await inTenant(tenantId).get(`/vault/keys/${vk.id}`)).body;
      expect(view).toMatchObject({ daily_usd_cap: null, total_usd_cap: 5, total_spent_usd: 5, total_reserved_usd: 0, spent_today_usd: 5 });
    });

    it('answers 429 total_cap_exceeded without Retry-After: a lifetime never resets', async () => {
      const { tenantId, credentialId } = await stripeKeys('Lifetime 2');
      const vk = await key(tenantId, credentialId, null, { total_usd_cap: 1 });
      expect((await charge(a, vk.token)).status).toBe(200);
      const refused = await charge(b, vk.token);
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).error).toMatchObject({ type: 'rate_limit_error', code: 'total_cap_exceeded' });
      expect(refused.headers['retry-after']).toBeUndefined();
    });

    it('counts every day of the key: $3 a day with $5 in total leaves $2 for the next day', async () => {
      const { tenantId, credentialId } = await stripeKeys('Lifetime 3');
      const vk = await key(tenantId, credentialId, 3, { total_usd_cap: 5 });
      const today = await burst(10, () => vk.token);
      expect(today.filter((s) => s === 200)).toHaveLength(3);
      const codes = await eventually(async () => ((await refusals([vk.id])).length === 7 ? refusals([vk.id]) : undefined), 'the refusals to be audited');
      expect(codes.every((r) => r.error_code === 'daily_cap_exceeded')).toBe(true);
      const next = await Promise.all(Array.from({ length: 10 }, () => charge(tomorrow, vk.token).then((r) => r.status)));
      expect(next.filter((s) => s === 200)).toHaveLength(2);
      expect(await settledBudget(vk.id, 'total')).toBe(5n * USD);
      const days = await fx.query<{ spent_nanos: string }>('SELECT spent_nanos FROM vault_key_spend WHERE vault_key_id = $1 ORDER BY day', [vk.id]);
      expect(days.map((d) => d.spent_nanos)).toEqual([String(3n * USD), String(2n * USD)]);
    });
  });
});
