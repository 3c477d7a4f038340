import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';
import { VaultKeyAuth } from '../src/auth/vault-key-auth';

const KEY_A = 'sk-real-client-a-0001';
const KEY_B = 'sk-real-client-b-0002';
const KEY_OTHER = 'sk-real-other-tenant-0003';
const CHAT = ['POST /v1/chat/completions'];

/**
 * One long-lived gateway key (as pasted into Dify's model provider) acting, call by call, for
 * whichever of its tenant's vault keys the call names. Real api, real proxy, the official
 * OpenAI SDK; only OpenAI itself is a loopback stub.
 */
describe('gateway keys', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let otherTenantId: string;
  let credA: string;
  let credB: string;
  let credOther: string;
  let gatewayKey: string;
  let gatewayKeyId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Agency');
    otherTenantId = await fx.tenant('Someone else');
    credA = (await fx.credential(tenantId, { vendor: 'openai', keys: [KEY_A] })).id;
    credB = (await fx.credential(tenantId, { vendor: 'openai', keys: [KEY_B] })).id;
    credOther = (await fx.credential(otherTenantId, { vendor: 'openai', keys: [KEY_OTHER] })).id;
    const created = await createGatewayKey(tenantId);
    gatewayKey = created.gateway_key;
    gatewayKeyId = created.id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  async function createGatewayKey(tenant: string): Promise<{ id: string; gateway_key: string }> {
    const res = await api.admin().post('/gateway-keys').set('Keyvault-Tenant', tenant).send({ name: 'dify' });
    expect(res.status).toBe(201);
    return res.body as { id: string; gateway_key: string };
  }
  const client = (apiKey = gatewayKey) => new OpenAI({ apiKey, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  const ask = (user?: string, headers: Record<string, string> = {}, apiKey?: string) =>
    client(apiKey).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say meow' }], max_tokens: 16, ...(user ? { user } : {}) }, { headers });
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    return { status: e.status, code: (e.error as { code?: string } | undefined)?.code };
  };
  const auditRows = (vaultKeyId: string) =>
    eventually(
      () => fx.query<Record<string, unknown>>('SELECT * FROM audit_log WHERE vault_key_id = $1 AND status <> 0 ORDER BY created_at', [vaultKeyId]).then((r) => r.length > 0 && r),
      'the audit row',
    );

  it('is shown once, with scope gateway, and is stored only as an argon2id hash', async () => {
    const list = await api.admin().get('/gateway-keys').set('Keyvault-Tenant', tenantId);
    expect(list.status).toBe(200);
    const listed = (list.body.data as Record<string, unknown>[]).find((k) => k.id === gatewayKeyId)!;
    expect(listed).toMatchObject({ object: 'gateway_key', scope: 'gateway', status: 'active', last4: gatewayKey.slice(-4) });
    expect(JSON.stringify(list.body)).not.toContain(gatewayKey);
    expect(gatewayKey).toMatch(/^kv_gw_[0-9a-z]{58}$/);
    const [row] = await fx.query<{ secret_hash: string }>('SELECT secret_hash FROM gateway_keys WHERE id = $1', [gatewayKeyId]);
    expect(row.secret_hash).toMatch(/^\$argon2id\$/);
    // another tenant does not see it
    expect((await api.admin().get(`/gateway-keys/${gatewayKeyId}`).set('Keyvault-Tenant', otherTenantId)).status).toBe(404);
  });

  it("bills the named vault key's profile with the official SDK and user: vk_..., and audits the call under that vault key", async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    stub.clear();
    const completion = await ask(vk.id, { 'X-Run-Id': 'run-a-1' });
    expect(completion.choices[0].message.content).toBe('meow');
    const [seen] = stub.seen();
    expect(seen.headers.authorization).toBe(`Bearer ${KEY_A}`);
    expect(JSON.stringify(seen.headers) + seen.body.toString()).not.toContain(gatewayKey);
    const [row] = await auditRows(vk.id);
    expect(row).toMatchObject({ tenant_id: tenantId, credential_id: credA, status: 200, run_id: 'run-a-1', cost_nanos: '3600' });
  });

  it('streams too', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credB, capUsd: 5, allowed: CHAT });
    stub.clear();
    const stream = await client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say meow' }], stream: true, user: vk.id });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('meow');
    expect(stub.seen()[0].headers.authorization).toBe(`Bearer ${KEY_B}`);
    const [row] = await auditRows(vk.id);
    expect(row).toMatchObject({ credential_id: credB, status: 200, cost_nanos: '3600' });
  });

  it('sends two runs for two clients through the same gateway key to two different real keys', async () => {
    const runA = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    const runB = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credB, capUsd: 5, allowed: CHAT });
    stub.clear();
    await Promise.all([ask(runA.id), ask(runB.id)]);
    expect(stub.seen().map((s) => s.headers.authorization).sort()).toEqual([`Bearer ${KEY_A}`, `Bearer ${KEY_B}`]);
  });

  it('takes the vault key id from the X-Vault-Key-Id header, which is not forwarded', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    stub.clear();
    await ask(undefined, { 'X-Vault-Key-Id': vk.id });
    const [seen] = stub.seen();
    expect(seen.headers.authorization).toBe(`Bearer ${KEY_A}`);
    expect(seen.headers['x-vault-key-id']).toBeUndefined();
  });

  it('refuses a header and a body naming different vault keys (400 vault_key_id_conflict)', async () => {
    const a = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    const b = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credB, capUsd: 5, allowed: CHAT });
    expect(await refusal(ask(a.id, { 'X-Vault-Key-Id': b.id }))).toEqual({ status: 400, code: 'vault_key_id_conflict' });
    // the same id twice is no conflict
    await expect(ask(a.id, { 'X-Vault-Key-Id': a.id })).resolves.toBeTruthy();
  });

  it('can do nothing on its own (401 vault_key_required)', async () => {
    stub.clear();
    expect(await refusal(ask())).toEqual({ status: 401, code: 'vault_key_required' });
    // a Dify end-user id in user is not a vault key id
    expect(await refusal(ask('7d8f2c4e-1b3a-4c5d-9e6f-0a1b2c3d4e5f'))).toEqual({ status: 401, code: 'vault_key_required' });
    expect(stub.seen()).toHaveLength(0);
  });

  it("refuses an unknown id, another tenant's vault key, and a revoked one on the next call", async () => {
    const mine = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    const theirs = await fx.vaultKey(otherTenantId, { vendor: 'openai', credentialId: credOther, capUsd: 5, allowed: CHAT });
    stub.clear();
    expect(await refusal(ask(theirs.id))).toEqual({ status: 401, code: 'invalid_vault_key' });
    expect(await refusal(ask('vk_' + '0'.repeat(26)))).toEqual({ status: 401, code: 'invalid_vault_key' });
    expect(await refusal(ask(undefined, { 'X-Vault-Key-Id': 'vk_not-an-id' }))).toEqual({ status: 401, code: 'invalid_vault_key' });

    await ask(mine.id);
    const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
    const revoked = await api.admin().delete(`/vault/keys/${mine.id}`).set('Keyvault-Tenant', tenantId);
    expect(revoked.status).toBe(200);
    // the line that must hold (as in auth.e2e-spec): no call once the proxy has seen the
    // revocation's notice, which on a loaded machine may land a moment after the api answered
    await eventually(async () => notices.mock.calls.some(([p]) => p.includes(mine.id)) || undefined, 'the revocation notice');
    notices.mockRestore();
    expect(await refusal(ask(mine.id))).toEqual({ status: 401, code: 'vault_key_revoked' });
    expect(stub.seen().map((s) => s.headers.authorization)).toEqual([`Bearer ${KEY_A}`]);
  });

  it("applies the vault key's allowlist and vendor", async () => {
    const embeddingsOnly = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: ['POST /v1/embeddings'] });
    expect(await refusal(ask(embeddingsOnly.id))).toEqual({ status: 403, code: 'endpoint_not_allowed' });
  });

  it('verifies with argon2 once: later calls read the key row at most, and a revoked gateway key is refused on the next call', async () => {
    const { gateway_key: token, id } = await createGatewayKey(tenantId);
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    const gatewayReads = () => proxy.metric('keyvault_proxy_db_queries_total', (l) => l.op === 'gateway_key');
    await ask(vk.id, {}, token);
    const before = await gatewayReads();
    for (let i = 0; i < 3; i++) await ask(vk.id, {}, token);
    expect(await gatewayReads()).toBe(before);

    const res = await api.admin().delete(`/gateway-keys/${id}`).set('Keyvault-Tenant', tenantId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'revoked' });
    // NOTIFY reaches the proxy's LISTEN connection asynchronously: poll (without failing on a call that still passed)
    await eventually(
      () => ask(vk.id, {}, token).then(() => false, (e: unknown) => (e as { status?: number }).status === 401),
      'the revoked gateway key to be refused',
    );
    expect(await refusal(ask(vk.id, {}, token))).toEqual({ status: 401, code: 'invalid_vault_key' });
    // a forged token shaped like this key is refused too
    expect(await refusal(ask(vk.id, {}, token.slice(0, -4) + 'aaaa'))).toEqual({ status: 401, code: 'invalid_vault_key' });
  });

  it("passes a request body exactly as Dify's OpenAI-API-compatible plugin builds it, binding by the system prompt's first line and stripping it", async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credB, capUsd: 5, allowed: CHAT });
    const body = readFileSync(join(__dirname, 'fixtures', 'dify-openai-compatible-chat.json'), 'utf8').replace('{{VAULT_KEY_ID}}', vk.id);
    stub.clear();
    // the headers the plugin sends (dify_plugin's OAICompatLargeLanguageModel._generate)
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept-Charset': 'utf-8', Authorization: `Bearer ${gatewayKey}` },
      body,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
    const [seen] = stub.seen();
    expect(seen.headers.authorization).toBe(`Bearer ${KEY_B}`);
    const forwarded = JSON.parse(seen.body.toString('utf8')) as { messages: { role: string; content: string }[]; user: string };
    expect(forwarded.messages[0]).toEqual({ role: 'system', content: 'You are the support assistant of ACME. Answer briefly.' });
    expect(seen.body.toString('utf8')).not.toContain('X-Vault-Key-Id');
    expect(forwarded.user).toBe('7d8f2c4e-1b3a-4c5d-9e6f-0a1b2c3d4e5f');
    const [row] = await auditRows(vk.id);
    expect(row).toMatchObject({ tenant_id: tenantId, credential_id: credB, status: 200, cost_nanos: '3600' });
  });

  it("answers Dify's credentials check itself (the ping it sends when the provider is saved), calling no vendor", async () => {
    // dify_plugin OAICompatLargeLanguageModel.validate_credentials: this body, plain and with stream mode auth
    const ping = (apiKey: string, stream = false) =>
      fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: stream ? 10 : 5, messages: [{ role: 'user', content: 'ping' }], ...(stream ? { stream: true } : {}) }),
      });
    stub.clear();
    const plain = await ping(gatewayKey);
    expect(plain.status).toBe(200);
    expect(await plain.json()).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant' } }] });
    const streamed = await ping(gatewayKey, true);
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain('data: [DONE]');
    expect(stub.seen()).toHaveLength(0);
    // a wrong key fails the check, as Dify must see it
    expect((await ping('kv_gw_' + '0'.repeat(58))).status).toBe(401);
    // anything else without a vault key id is still refused
    expect(await refusal(client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }], max_tokens: 500 }))).toEqual({
      status: 401,
      code: 'vault_key_required',
    });
  });

  it("fills the audit row's run and conversation from the vault key's metadata when no header names them", async () => {
    const res = await api.admin().post('/vault/keys').set('Keyvault-Tenant', tenantId).send({
      vendor: 'openai', credential: credA, daily_usd_cap: 5, allowed_endpoints: CHAT, expires_in: '1h',
      metadata: { run_id: 'backend-run-77', conversation_id: 'chat-9' },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await ask(id);
    await ask(id, { 'X-Run-Id': 'header-wins' });
    const rows = await eventually(
      () => fx.query<{ run_id: string; conversation_id: string }>('SELECT run_id, conversation_id FROM audit_log WHERE vault_key_id = $1 AND status <> 0', [id]).then((r) => r.length === 2 && r),
      'both audit rows',
    );
    expect(rows.map((r) => [r.run_id, r.conversation_id]).sort()).toEqual([['backend-run-77', 'chat-9'], ['header-wins', 'chat-9']]);
  });

  it("refuses an expired vault key's id with vault_key_expired, and a disabled tenant's with tenant_disabled", async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    await fx.query(`UPDATE vault_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [vk.id]);
    expect(await refusal(ask(vk.id))).toEqual({ status: 401, code: 'vault_key_expired' });

    const disabled = await fx.tenant('Disabled soon');
    const cred = (await fx.credential(disabled, { vendor: 'openai', keys: ['sk-real-disabled-0009'] })).id;
    const theirs = await fx.vaultKey(disabled, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: CHAT });
    const gw = await createGatewayKey(disabled);
    await ask(theirs.id, {}, gw.gateway_key);
    expect((await api.admin().post(`/tenants/${disabled}/disable`)).status).toBe(200);
    await eventually(
      () => ask(theirs.id, {}, gw.gateway_key).then(() => false, (e: unknown) => (e as { error?: { code?: string } }).error?.code === 'tenant_disabled'),
      'the disabled tenant to be refused',
    );
  });

  it('refuses a gateway key in the URL, even with a good one in the header', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: credA, capUsd: 5, allowed: CHAT });
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions?key=${gatewayKey}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${gatewayKey}`, 'X-Vault-Key-Id': vk.id },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_vault_key');
  });
});
