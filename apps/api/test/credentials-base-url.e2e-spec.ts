import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { providerKey, tenantWithKey, type TenantWithKeys } from './support/credential-fixtures';

/**
 * The SSRF guard on a profile's base_url. Every refusal happens before any connection: the
 * guard looks at the URL and at literal addresses (or `localhost`, which resolves locally).
 */
describe('credential base_url guard', () => {
  describe('by default (private upstreams not allowed)', () => {
    let api: ApiHarness;
    let t: TenantWithKeys;
    beforeAll(async () => {
      api = await startApi();
      t = await tenantWithKey(api, 'Guarded');
    });
    afterAll(async () => api?.close());

    it.each([
      ['http://api.example.com/v1', 'not_https'],
      ['https://127.0.0.1/v1', 'private_address'],
      ['https://127.8.9.10:8443', 'private_address'],
      ['https://[::1]/v1', 'private_address'],
      ['https://10.0.0.1/v1', 'private_address'],
      ['https://10.255.1.2', 'private_address'],
      ['https://172.16.0.1', 'private_address'],
      ['https://172.31.255.254', 'private_address'],
      ['https://192.168.1.10', 'private_address'],
      ['https://169.254.169.254/latest/meta-data', 'private_address'],
      ['https://[::ffff:169.254.169.254]/', 'private_address'],
      ['https://[::ffff:127.0.0.1]/', 'private_address'],
      ['https://localhost/v1', 'private_address'],
      ['https://localhost:9000', 'private_address'],
      ['https://user:pass@127.0.0.1/v1', 'credentials_in_url'],
      ['https://token@8.8.8.8/v1', 'credentials_in_url'],
      ['not a url', 'invalid_url'],
      ['file:///etc/passwd', 'not_https'],
    ])('refuses %s (422 unsafe_url, %s)', async (base_url, reason) => {
      const res = await t
        .as('post', '/credentials')
        .send({ name: 'compat', vendor: 'openai_compatible', keys: [providerKey()], base_url })
        .expect(422);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unsafe_url', param: 'base_url' });
      expect(res.body.error.message).toContain(reason);
      expect(res.body.error.message).not.toContain('pass@');
      const rows = await queryDb(api.db.url, 'SELECT 1 FROM credential_profiles WHERE tenant_id = $1', [t.id]);
      expect(rows).toHaveLength(0);
    });

    it('guards an override on a vendor profile and a PATCH as well', async () => {
      const over = await t
        .as('post', '/credentials')
        .send({ name: 'openai_override', vendor: 'openai', keys: [providerKey()], base_url: 'https://10.1.1.1' })
        .expect(422);
      expect(over.body.error).toMatchObject({ code: 'unsafe_url', param: 'base_url' });
      await t.as('post', '/credentials').send({ name: 'openai_plain', vendor: 'openai', keys: [providerKey()] }).expect(201);
      const patch = await t.as('patch', '/credentials/openai_plain').send({ base_url: 'https://169.254.169.254' }).expect(422);
      expect(patch.body.error).toMatchObject({ code: 'unsafe_url', param: 'base_url' });
      expect((await t.as('get', '/credentials/openai_plain').expect(200)).body.base_url).toBeNull();
    });

    it('with private upstreams not allowed, even loopback http is refused', async () => {
      const res = await t
        .as('post', '/credentials')
        .send({ name: 'compat_local', vendor: 'openai_compatible', keys: [providerKey()], base_url: 'http://127.0.0.1:9000' })
        .expect(422);
      expect(res.body.error.message).toContain('not_https');
    });
  });

  describe('with KEYVAULT_ALLOW_PRIVATE_UPSTREAMS=true', () => {
    let api: ApiHarness;
    let t: TenantWithKeys;
    beforeAll(async () => {
      api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
      t = await tenantWithKey(api, 'Lab');
    });
    afterAll(async () => api?.close());

    it('accepts http://127.0.0.1:9000 for an openai_compatible profile (a local vLLM)', async () => {
      const res = await t
        .as('post', '/credentials')
        .send({ name: 'vllm_local', vendor: 'openai_compatible', keys: [providerKey()], base_url: 'http://127.0.0.1:9000/' })
        .expect(201);
      expect(res.body).toMatchObject({ vendor: 'openai_compatible', base_url: 'http://127.0.0.1:9000', default: true });
    });

    it('still refuses credentials in the URL', async () => {
      const res = await t
        .as('post', '/credentials')
        .send({ name: 'vllm_creds', vendor: 'openai_compatible', keys: [providerKey()], base_url: 'http://u:p@127.0.0.1:9000' })
        .expect(422);
      expect(res.body.error.message).toContain('credentials_in_url');
    });

    it('an openai_compatible profile cannot drop its base_url', async () => {
      const res = await t.as('patch', '/credentials/vllm_local').send({ base_url: null }).expect(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param: 'base_url' });
      const moved = await t.as('patch', '/credentials/vllm_local').send({ base_url: 'http://localhost:9001' }).expect(200);
      expect(moved.body.base_url).toBe('http://localhost:9001');
    });
  });
});
