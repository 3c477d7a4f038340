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
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
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
      // the key's days are booked by their own ledger, apart from the lifetime budget's: wait
      // until they hold all the calls' $5 (a lease may keep room reserved), then check each day
      const days = await eventually(async () => {
        const rows = await fx.query<{ spent_nanos: string }>('SELECT spent_nanos FROM vault_key_spend WHERE vault_key_id = $1 ORDER BY day', [vk.id]);
        return rows.reduce((sum, r) => sum + BigInt(r.spent_nanos), 0n) >= 5n * USD ? rows : undefined;
      }, "the key's days to book the calls");
      expect(days.map((d) => d.spent_nanos)).toEqual([String(3n * USD), String(2n * USD)]);
    });
  });

  describe('profile caps', () => {
    // 50 keys to issue and 200 calls: room on a loaded machine (a timeout, not a timed assertion)
    it('books at most $10.00 over 50 keys of $1 a day under a 200-way burst of $0.30 charges on a profile capped at $10 a day', { timeout: 180_000 }, async () => {
      const { tenantId, credentialId } = await stripeKeys('Profile cap');
      await inTenant(tenantId).patch(`/credentials/${credentialId}`).send({ daily_usd_cap: 10 }).expect(200);
      const keys: Array<{ id: string; token: string }> = [];
      for (let i = 0; i < 50; i++) keys.push(await key(tenantId, credentialId, 1));
      stub.clear();
      const statuses = await burst(200, (i) => keys[i % 50].token, 30);
      const admitted = statuses.filter((s) => s === 200).length;
      // every key could take 3 ($0.90): the profile's $10 binds first, at 33 calls at most
      expect(admitted).toBeLessThanOrEqual(33);
      expect(admitted).toBeGreaterThan(0);
      expect(stub.seen()).toHaveLength(admitted);
      const day = new Date().toISOString().slice(0, 10);
      expect(await settledBudget(credentialId, day)).toBe(BigInt(admitted) * 300_000_000n);
      const keySpend = await eventually(async () => {
        const [r] = await fx.query<{ spent: string; reserved: string }>(
          'SELECT sum(spent_nanos)::text AS spent, sum(reserved_nanos)::text AS reserved FROM vault_key_spend WHERE vault_key_id = ANY($1)', [keys.map((k) => k.id)]);
        return r.reserved === '0' ? BigInt(r.spent) : undefined;
      }, 'the keys to settle');
      expect(keySpend).toBe(BigInt(admitted) * 300_000_000n);
      const rows = await eventually(async () => {
        const r = await refusals(keys.map((k) => k.id));
        return r.length === 200 - admitted ? r : undefined;
      }, 'every refusal to be audited');
      // a key's fourth call may meet its own day's cap first (its earlier calls hold it while the profile decides)
      expect(rows.map((r) => `${r.status} ${r.error_code}`)).toContain('429 profile_cap_exceeded');
      expect(rows.every((r) => r.status === 429 && ['profile_cap_exceeded', 'daily_cap_exceeded'].includes(r.error_code))).toBe(true);
      const { body } = await inTenant(tenantId).get(`/credentials/${credentialId}`).expect(200);
      expect(body).toMatchObject({ daily_usd_cap: 10, spent_today_usd: admitted * 0.3, reserved_today_usd: 0 });
    });

    it('refuses with Retry-After to UTC midnight, and fires credential.cap_threshold and credential.cap_reached once', async () => {
      const { tenantId, credentialId } = await stripeKeys('Profile webhooks');
      await fx.query(
        `INSERT INTO webhooks (id, tenant_id, url, events, threshold_pct, secret_sealed, data_key_version)
         VALUES ('whk_budgets_profile_0000000000', $1, 'https://hooks.example/kv', ARRAY['credential.cap_threshold', 'credential.cap_reached'], 80, '\\x00', 1)`,
        [tenantId],
      );
      await inTenant(tenantId).patch(`/credentials/${credentialId}`).send({ daily_usd_cap: 5 }).expect(200);
      const vk = await key(tenantId, credentialId, 100);
      const statuses = await burst(12, () => vk.token);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      const refused = await charge(a, vk.token);
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body).error.code).toBe('profile_cap_exceeded');
      const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS;
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil((midnight - Date.now()) / 1000) + 1);
      const day = new Date().toISOString().slice(0, 10);
      expect(await settledBudget(credentialId, day)).toBe(5n * USD);
      const events = await eventually(async () => {
        const e = await fx.query<{ type: string; payload: Record<string, unknown> }>(
          `SELECT type, payload FROM webhook_events WHERE payload->>'credential_id' = $1 ORDER BY id`, [credentialId]);
        return e.length === 2 ? e : undefined;
      }, 'the profile webhook events');
      expect(events.map((e) => e.type).sort()).toEqual(['credential.cap_reached', 'credential.cap_threshold']);
      expect(events.find((e) => e.type === 'credential.cap_reached')?.payload).toMatchObject({ cap: 'daily_usd_cap', period: day, spent_nanos: String(5n * USD) });
      expect(events.find((e) => e.type === 'credential.cap_threshold')?.payload).toMatchObject({ threshold_pct: 80 });
    });

    it('applies a cap lowered with PATCH to the next calls, on every instance', async () => {
      const { tenantId, credentialId } = await stripeKeys('Profile patched');
      const vk = await key(tenantId, credentialId, 100);
      expect((await charge(a, vk.token)).status).toBe(200);
      expect((await charge(b, vk.token)).status).toBe(200);
      await inTenant(tenantId).patch(`/credentials/${credentialId}`).send({ monthly_usd_cap: 3 }).expect(200);
      // the notice reaches each instance after the commit: wait for the cap to show there
      for (const proxy of [a, b]) {
        await eventually(async () => ((await charge(proxy, vk.token, 100, 'probe')).status === 429 ? true : undefined), 'the cap to reach the proxy');
      }
      const month = new Date().toISOString().slice(0, 7);
      expect(await settledBudget(credentialId, month)).toBe(3n * USD);
    });
  });

  describe('tenant caps', () => {
    const now = new Date();
    const nextMonthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const HOUR = 3_600_000;
    let endOfMonth: ProxyHarness;
    let nextMonth: ProxyHarness;
    beforeAll(async () => {
      const env = { KEYVAULT_UPSTREAM_STRIPE: stub.url };
      endOfMonth = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { ...env, KEYVAULT_TEST_CLOCK_OFFSET_MS: String(nextMonthStart - 12 * HOUR - Date.now()) });
      nextMonth = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { ...env, KEYVAULT_TEST_CLOCK_OFFSET_MS: String(nextMonthStart + 12 * HOUR - Date.now()) });
    });
    afterAll(async () => {
      await endOfMonth?.close();
      await nextMonth?.close();
    });

    it("holds a tenant's monthly cap over all its profiles and keys, and resets at the month's end", async () => {
      const { tenantId, credentialId } = await stripeKeys('Tenant cap');
      const other = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_budgets_0002'] })).id;
      await api.admin().patch(`/tenants/${tenantId}`).send({ monthly_usd_cap: 4 }).expect(200);
      const k1 = await key(tenantId, credentialId, 100);
      const k2 = await key(tenantId, other, 100);
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => charge(endOfMonth, (i % 2 ? k1 : k2).token).then((r) => r)));
      expect(statuses.filter((r) => r.status === 200)).toHaveLength(4);
      const refused = statuses.find((r) => r.status === 429)!;
      expect(JSON.parse(refused.body).error.code).toBe('tenant_cap_exceeded');
      // to the end of the (shifted) month: 12 hours, less the seconds the test took
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(11 * 3600);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(12 * 3600);
      const thisMonth = new Date(nextMonthStart - 12 * HOUR).toISOString().slice(0, 7);
      expect(await settledBudget(tenantId, thisMonth)).toBe(4n * USD);
      // the next month starts from nothing
      const next = await Promise.all(Array.from({ length: 10 }, (_, i) => charge(nextMonth, (i % 2 ? k1 : k2).token).then((r) => r.status)));
      expect(next.filter((s) => s === 200)).toHaveLength(4);
      expect(await settledBudget(tenantId, new Date(nextMonthStart).toISOString().slice(0, 7))).toBe(4n * USD);
      const rows = await eventually(async () => {
        const r = await refusals([k1.id, k2.id]);
        return r.length === 22 ? r : undefined;
      }, 'every refusal to be audited');
      expect(new Set(rows.map((r) => r.error_code))).toEqual(new Set(['tenant_cap_exceeded']));
    });
  });
});
