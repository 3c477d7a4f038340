import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { createKeyvaultClient, KeyvaultApiError, KeyvaultConnectionError, type KeyvaultClient } from './index';

describe('@keyvault/client against the api', () => {
  let api: ApiHarness;
  let apiUrl: string;
  let admin: KeyvaultClient;
  beforeAll(async () => {
    api = await startApi();
    apiUrl = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    admin = createKeyvaultClient({ apiUrl, apiKey: api.config.KEYVAULT_ADMIN_TOKEN });
  });
  afterAll(async () => api?.close());

  it('creates once per idempotency key and reads back what it created', async () => {
    const a = await admin.tenants.create({ name: 'Client A' }, { idempotencyKey: 'client-a' });
    const b = await admin.tenants.create({ name: 'Client A' }, { idempotencyKey: 'client-a' });
    expect(b.id).toBe(a.id);
    expect(await admin.tenants.get(a.id)).toEqual(a);
    expect((await admin.tenants.list({ limit: 100 })).data.map((t) => t.id)).toContain(a.id);
  });

  it('issues, filters by metadata and revokes vault keys as a tenant API key', async () => {
    const tenant = await admin.tenants.create({ name: 'Vault user' });
    const { api_key } = await admin.apiKeys.create(tenant.id, { name: 'backend' });
    const client = createKeyvaultClient({ apiUrl, apiKey: api_key });
    await client.credentials.create({ name: 'client_a_openai', vendor: 'openai', keys: ['sk-test-client-0000000000000001'] });

    const issued = await client.vaultKeys.issue({
      vendor: 'openai',
      credential: 'client_a_openai',
      daily_usd_cap: 5,
      allowed_endpoints: ['POST /v1/chat/completions'],
      expires_in: '2h',
      metadata: { conversation_id: 'chat_1' },
    });
    expect(issued.vault_key).toMatch(/^vault_key_/);
    // metadata filters travel as metadata[key]=value (deepObject)
    expect((await client.vaultKeys.list({ metadata: { conversation_id: 'chat_1' } })).data.map((k) => k.id)).toEqual([issued.id]);
    expect((await client.vaultKeys.list({ metadata: { conversation_id: 'chat_2' } })).data).toEqual([]);
    expect(await client.vaultKeys.revokeMatching({ metadata: { conversation_id: 'chat_1' } })).toMatchObject({ revoked: 1 });
    expect((await client.vaultKeys.get(issued.id)).status).toBe('revoked');
  });

  it('throws the contract\'s error code, message and param', async () => {
    const err = await admin.tenants.create({ name: 'x', slug: 'Not A Slug' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyvaultApiError);
    expect(err).toMatchObject({ status: 400, code: 'parameter_invalid', type: 'invalid_request_error', param: 'slug' });

    const missing = await admin.tenants.get('ten_00000000000000000000000000').catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: 'resource_missing' });

    const wrong = await createKeyvaultClient({ apiUrl, apiKey: 'kv_live_nope' }).me().catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'authentication_error' });
  });

  it('says when the api cannot be reached, or is not Keyvault', async () => {
    const down = await createKeyvaultClient({ apiUrl: 'http://127.0.0.1:9', apiKey: 'k' }).me().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(KeyvaultConnectionError);
    expect((down as Error).message).toContain('http://127.0.0.1:9');

    // a server that is not Keyvault (a wrong URL, a load balancer's error page)
    const foreign = createKeyvaultClient({ apiUrl, apiKey: 'k', fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }) });
    expect(await foreign.me().catch((e: unknown) => e)).toMatchObject({ status: 502, code: 'unexpected_response' });
  });

  it('fetches a Dify tool schema', async () => {
    const doc = await admin.integrations.difyToolSchema('resend');
    expect(doc).toMatchObject({ openapi: expect.stringMatching(/^3\./), paths: { '/resend/emails': expect.any(Object) } });
  });
});
