import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createdSecrets, queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { createCredentialProfile, type CredentialProfileFixture } from '../../../test/harness/fixtures';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Budgets above a vault key's day (issue 19), through the api: what is settable, shown, refused. */
describe('budgets (api)', () => {
  let api: ApiHarness;
  let tenantId: string;
  let apiKey: string;
  let stripe: CredentialProfileFixture;

  const issue = (body: Record<string, unknown>) =>
    api.http.post('/vault/keys').set(bearer(apiKey)).send({ vendor: 'stripe', allowed_endpoints: ['POST /v1/charges'], expires_in: '1h', ...body });
  const get = (path: string) => api.http.get(path).set(bearer(apiKey));

  beforeAll(async () => {
    api = await startApi();
    const { body: t } = await api.admin().post('/tenants').send({ name: 'Budgets' }).expect(201);
    tenantId = t.id;
    const { body: k } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'backend' }).expect(201);
    apiKey = k.api_key;
    stripe = await createCredentialProfile(api, tenantId, { name: 'budgets_stripe', vendor: 'stripe', isDefault: true });
  });
  afterAll(async () => api?.close());

  describe('total_usd_cap on vault keys', () => {
    it('issues a key with only a lifetime cap, and shows its lifetime spend', async () => {
      const res = await issue({ total_usd_cap: 250.5 }).expect(201);
      createdSecrets.add(res.body.vault_key);
      expect(res.body).toMatchObject({ daily_usd_cap: null, total_usd_cap: 250.5, total_spent_usd: 0, total_reserved_usd: 0 });
      const { body } = await get(`/vault/keys/${res.body.id}`).expect(200);
      expect(body).toMatchObject({ daily_usd_cap: null, total_usd_cap: 250.5, total_spent_usd: 0, total_reserved_usd: 0, spent_today_usd: 0 });
    });

    it('issues a key with both caps', async () => {
      const res = await issue({ daily_usd_cap: 10, total_usd_cap: 0.000000001 }).expect(201);
      createdSecrets.add(res.body.vault_key);
      expect(res.body).toMatchObject({ daily_usd_cap: 10, total_usd_cap: 0.000000001 });
    });

    it('shows null for a key without a lifetime cap, and its spend over every day', async () => {
      const res = await issue({ daily_usd_cap: 10 }).expect(201);
      createdSecrets.add(res.body.vault_key);
      await queryDb(
        api.db.url,
        `INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos, reserved_nanos)
         VALUES ($1, current_date - 1, $2, 1500000001, 0), ($1, current_date, $2, 2000000000, 7)`,
        [res.body.id, tenantId],
      );
      const { body } = await get(`/vault/keys/${res.body.id}`).expect(200);
      expect(body).toMatchObject({ total_usd_cap: null, total_spent_usd: 3.500000001, total_reserved_usd: 0.000000007, spent_today_usd: 2 });
    });

    it('refuses a key with neither cap: 400 cap_required', async () => {
      const res = await issue({}).expect(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'cap_required', param: 'daily_usd_cap' });
    });

    it.each([0, -1, 1_000_001, 0.0000000001, '5'])('refuses total_usd_cap %s: 400', async (v) => {
      const res = await issue({ daily_usd_cap: 1, total_usd_cap: v }).expect(400);
      expect(res.body.error.param).toBe('total_usd_cap');
    });

    it('lists the field in /openapi.json', async () => {
      const { body } = await api.http.get('/openapi.json').expect(200);
      expect(body.components.schemas.CreateVaultKeyDto.properties.total_usd_cap).toBeDefined();
      expect(body.components.schemas.CreateVaultKeyDto.required).not.toContain('daily_usd_cap');
      expect(body.components.schemas.VaultKeyView.properties).toHaveProperty('total_spent_usd');
    });
  });

  describe('profile and tenant caps', () => {
    const day = () => new Date().toISOString().slice(0, 10);
    const month = () => new Date().toISOString().slice(0, 7);

    it('sets a profile\'s daily and monthly caps at creation and shows the spend of each period', async () => {
      const res = await api.http
        .post('/credentials')
        .set(bearer(apiKey))
        .send({ name: 'capped_stripe', vendor: 'stripe', keys: ['sk_test_capped_profile_0001'], daily_usd_cap: 10, monthly_usd_cap: 250.25 })
        .expect(201);
      expect(res.body).toMatchObject({ daily_usd_cap: 10, monthly_usd_cap: 250.25, spent_today_usd: 0, reserved_today_usd: 0, spent_this_month_usd: 0, reserved_this_month_usd: 0 });
      await queryDb(api.db.url, `INSERT INTO budget_spend (subject_id, period, tenant_id, spent_nanos, reserved_nanos) VALUES ($1, $2, $3, 1000000001, 5), ($1, $4, $3, 7000000000, 0)`, [
        res.body.id, day(), tenantId, month(),
      ]);
      const { body } = await get(`/credentials/${res.body.id}`).expect(200);
      expect(body).toMatchObject({ day: day(), spent_today_usd: 1.000000001, reserved_today_usd: 0.000000005, month: month(), spent_this_month_usd: 7, reserved_this_month_usd: 0 });
    });

    it('sets, changes and removes the caps with PATCH, counting the period so far when a cap is set', async () => {
      const stripe = await createCredentialProfile(api, tenantId, { name: 'patched_stripe', vendor: 'stripe' });
      const vk = await issue({ daily_usd_cap: 50, credential: stripe.id }).expect(201);
      createdSecrets.add(vk.body.vault_key);
      await queryDb(api.db.url, `INSERT INTO vault_key_spend (vault_key_id, day, tenant_id, spent_nanos, reserved_nanos) VALUES ($1, current_date, $2, 2500000000, 0)`, [vk.body.id, tenantId]);
      const before = await get(`/credentials/${stripe.id}`).expect(200);
      expect(before.body).toMatchObject({ daily_usd_cap: null, monthly_usd_cap: null, spent_today_usd: 2.5, spent_this_month_usd: 2.5 });
      const set = await api.http.patch(`/credentials/${stripe.id}`).set(bearer(apiKey)).send({ daily_usd_cap: 20, monthly_usd_cap: 300 }).expect(200);
      expect(set.body).toMatchObject({ daily_usd_cap: 20, monthly_usd_cap: 300, spent_today_usd: 2.5, spent_this_month_usd: 2.5 });
      const [row] = await queryDb<{ spent_nanos: string }>(api.db.url, 'SELECT spent_nanos FROM budget_spend WHERE subject_id = $1 AND period = $2', [stripe.id, month()]);
      expect(row.spent_nanos).toBe('2500000000');
      const cleared = await api.http.patch(`/credentials/${stripe.id}`).set(bearer(apiKey)).send({ daily_usd_cap: null }).expect(200);
      expect(cleared.body).toMatchObject({ daily_usd_cap: null, monthly_usd_cap: 300 });
    });

    it.each([0, -5, 'ten', 1_000_001, 0.0000000001])('refuses a profile cap of %j: 400 on the field', async (v) => {
      const res = await api.http.patch(`/credentials/${stripe.id}`).set(bearer(apiKey)).send({ monthly_usd_cap: v }).expect(400);
      expect(res.body.error.param).toBe('monthly_usd_cap');
    });

    it('sets a tenant\'s monthly cap (admin) and shows its month\'s spend', async () => {
      const created = await api.admin().post('/tenants').send({ name: 'Capped tenant', monthly_usd_cap: 5000 }).expect(201);
      expect(created.body).toMatchObject({ monthly_usd_cap: 5000, month: month(), spent_this_month_usd: 0, reserved_this_month_usd: 0 });
      const { body: t } = await api.admin().get(`/tenants/${tenantId}`).expect(200);
      expect(t).toMatchObject({ monthly_usd_cap: null, month: month() });
      expect(t.spent_this_month_usd).toBeGreaterThanOrEqual(2.5);
      const patched = await api.admin().patch(`/tenants/${tenantId}`).send({ monthly_usd_cap: 1000 }).expect(200);
      expect(patched.body).toMatchObject({ monthly_usd_cap: 1000, spent_this_month_usd: t.spent_this_month_usd });
      const removed = await api.admin().patch(`/tenants/${tenantId}`).send({ monthly_usd_cap: null }).expect(200);
      expect(removed.body.monthly_usd_cap).toBeNull();
      const bad = await api.admin().patch(`/tenants/${tenantId}`).send({ monthly_usd_cap: -1 }).expect(400);
      expect(bad.body.error.param).toBe('monthly_usd_cap');
    });

    it('lists the fields in /openapi.json', async () => {
      const { body } = await api.http.get('/openapi.json').expect(200);
      const s = body.components.schemas;
      expect(Object.keys(s.UpdateCredentialDto.properties)).toEqual(expect.arrayContaining(['daily_usd_cap', 'monthly_usd_cap']));
      expect(Object.keys(s.CredentialView.properties)).toEqual(expect.arrayContaining(['spent_today_usd', 'reserved_this_month_usd']));
      expect(Object.keys(s.UpdateTenantDto.properties)).toContain('monthly_usd_cap');
      expect(Object.keys(s.TenantView.properties)).toEqual(expect.arrayContaining(['monthly_usd_cap', 'spent_this_month_usd', 'reserved_this_month_usd']));
    });
  });
});
