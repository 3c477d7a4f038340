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
});
