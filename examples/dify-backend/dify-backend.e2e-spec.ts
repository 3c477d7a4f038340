import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../test/harness/proxy';
import { eventually } from '../../test/harness/wait';
import { VaultKeyAuth } from '../../apps/proxy/src/auth/vault-key-auth';
import { startDifyStub, type DifyStub } from './dify-stub';
import { createChatBackend } from './server';

const PROVIDER_KEY = 'sk-test-client-a-000000000000000000';
const APP_KEY = 'app-test-chatflow';

/**
 * The example backend end to end: real Keyvault api and proxy, OpenAI and Dify stand-ins. A chat
 * gets its vault key, Dify's HTTP node spends it through the proxy, ending the chat revokes it.
 */
describe('examples/dify-backend', () => {
  let api: ApiHarness;
  let proxy: ProxyHarness;
  let openai: OpenAiStub;
  let dify: DifyStub;
  let tenantId: string;
  let backendKey: string;
  const servers: Server[] = [];

  beforeAll(async () => {
    api = await startApi();
    openai = await startOpenAiStub();
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: openai.url });
    dify = await startDifyStub({ appKey: APP_KEY, proxyUrl: proxy.url });

    tenantId = (await api.admin().post('/tenants').send({ name: 'Acme Agency' }).expect(201)).body.id;
    await api.admin().post('/credentials').set('Keyvault-Tenant', tenantId)
      .send({ name: 'client_a_openai', vendor: 'openai', keys: [PROVIDER_KEY] }).expect(201);
    backendKey = (
      await api.admin().post(`/tenants/${tenantId}/api-keys`)
        .send({ name: 'dify backend', scopes: ['vault_keys:issue', 'vault_keys:revoke'] }).expect(201)
    ).body.api_key;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
    await dify?.close();
    await proxy?.close();
    await openai?.close();
    await api?.close();
  });

  async function startBackend(dailyUsdCap: number): Promise<string> {
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const server = createChatBackend({
      keyvault: { apiUrl: `http://127.0.0.1:${port}`, apiKey: backendKey, credential: 'client_a_openai', dailyUsdCap },
      dify: { apiUrl: dify.url, appKey: APP_KEY },
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const post = async (url: string, body?: unknown) => {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const vaultKeys = async (q: string) =>
    (await api.admin().get(`/vault/keys?${q}`).set('Keyvault-Tenant', tenantId).expect(200)).body.data as Record<string, unknown>[];

  it('runs a conversation on its own vault key and revokes it when the chat ends', async () => {
    const backend = await startBackend(5);
    const first = await post(`${backend}/chat`, { user: 'u_1', query: 'Where is my order?' });
    expect(first).toMatchObject({ status: 200, body: { answer: 'meow' } });
    const chatId = first.body.chat_id as string;

    // one key for this chat, tagged with its id, issued by the backend's narrow API key
    const [key] = await vaultKeys(`metadata[conversation_id]=${chatId}`);
    expect(key).toMatchObject({ vendor: 'openai', status: 'active', label: 'dify-chat', allowed_endpoints: ['POST /v1/chat/completions'], daily_usd_cap: 5 });
    expect(key.metadata).toEqual({ conversation_id: chatId, user_id: 'u_1' });

    // Dify's HTTP node called the proxy with the vault key; the proxy called OpenAI with the real key
    const run = dify.runs.at(-1)!;
    expect(run.request.url).toBe(`${proxy.url}/openai/v1/chat/completions`);
    expect(run.request.headers.Authorization).toMatch(/^Bearer vault_key_/);
    expect(run.statusCode).toBe(200);
    const upstream = openai.seen().at(-1)!;
    expect(upstream.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(upstream.headers['x-conversation-id']).toBeUndefined();

    // the second turn uses the same key: Dify kept the conversation's inputs
    const second = await post(`${backend}/chat`, { user: 'u_1', query: 'And when?', chat_id: chatId });
    expect(second).toMatchObject({ status: 200, body: { chat_id: chatId, answer: 'meow' } });
    expect(dify.runs.at(-1)!.request.headers.Authorization).toBe(run.request.headers.Authorization);
    expect(await vaultKeys(`metadata[conversation_id]=${chatId}`)).toHaveLength(1);

    // both calls are in the audit log under the chat's id, each with its Dify run id
    const audit = await eventually(async () => {
      const res = await api.admin().get(`/audit?conversation_id=${chatId}`).set('Keyvault-Tenant', tenantId).expect(200);
      return res.body.data.length === 2 && (res.body.data as { run_id: string }[]);
    }, 'both audit rows');
    expect(audit.map((a) => a.run_id).sort()).toEqual(dify.runs.slice(-2).map((r) => r.workflowRunId).sort());

    // ending the chat revokes the key; the proxy refuses it from then on
    const ended = await post(`${backend}/chat/${chatId}/end`);
    expect(ended).toMatchObject({ status: 200, body: { chat_id: chatId, revoked_vault_keys: 1 } });
    const vaultKey = (run.request.headers.Authorization as string).slice('Bearer '.length);
    const refused = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${vaultKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'still there?' }] }),
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('vault_key_revoked');
    expect((await post(`${backend}/chat`, { user: 'u_1', query: 'hello?', chat_id: chatId })).status).toBe(404);
  });

  it('answers with the Chatflow\'s 429 branch when the call would pass the cap, without calling OpenAI', async () => {
    // gpt-4o-mini with max_tokens 256 reserves about $0.00015: more than this cap
    const backend = await startBackend(0.0001);
    const before = openai.seen().length;
    const res = await post(`${backend}/chat`, { user: 'u_2', query: 'Hello' });
    expect(res.status).toBe(200);
    expect(res.body.answer).toMatch(/^Today's budget for this assistant is used up; it resets in \d+ seconds\.$/);
    const run = dify.runs.at(-1)!;
    expect(run.statusCode).toBe(429);
    expect(JSON.parse(run.body)).toMatchObject({ error: { type: 'rate_limit_error', code: 'daily_cap_exceeded' } });
    const retryAfter = Number(run.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(openai.seen().length).toBe(before);
  });

  it('another user cannot continue a chat', async () => {
    const backend = await startBackend(5);
    const { body } = await post(`${backend}/chat`, { user: 'u_3', query: 'Hi' });
    expect((await post(`${backend}/chat`, { user: 'u_4', query: 'Hi', chat_id: body.chat_id })).status).toBe(404);
  });

  describe('with an LLM node behind a gateway key', () => {
    let llmDify: DifyStub;
    let llmBackend: (cap: number) => Promise<string>;

    beforeAll(async () => {
      const gatewayKey = (await api.admin().post('/gateway-keys').set('Keyvault-Tenant', tenantId).send({ name: 'dify' }).expect(201)).body.gateway_key as string;
      llmDify = await startDifyStub({ appKey: APP_KEY, proxyUrl: proxy.url, node: 'llm', gatewayKey });
      llmBackend = async (dailyUsdCap) => {
        const { port } = api.app.getHttpServer().address() as AddressInfo;
        const server = createChatBackend({
          keyvault: { apiUrl: `http://127.0.0.1:${port}`, apiKey: backendKey, credential: 'client_a_openai', dailyUsdCap },
          dify: { apiUrl: llmDify.url, appKey: APP_KEY },
        });
        await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
        servers.push(server);
        return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      };
    });
    afterAll(async () => {
      await llmDify?.close();
    });

    it("bills the chat's vault key through the LLM node, the vault key id riding in the system prompt", async () => {
      const backend = await llmBackend(5);
      const first = await post(`${backend}/chat`, { user: 'u_9', query: 'Where is my order?' });
      expect(first).toMatchObject({ status: 200, body: { answer: 'meow' } });
      const [key] = await vaultKeys(`metadata[conversation_id]=${first.body.chat_id as string}`);

      const run = llmDify.runs.at(-1)!;
      expect(run.request.headers.Authorization).toMatch(/^Bearer kv_gw_/);
      const upstream = openai.seen().at(-1)!;
      expect(upstream.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
      const forwarded = JSON.parse(upstream.body.toString('utf8')) as { messages: { role: string; content: string }[] };
      expect(forwarded.messages[0]).toEqual({ role: 'system', content: 'You are the support assistant of ACME. Answer briefly.' });

      const rows = await eventually(async () => {
        const res = await api.admin().get(`/audit?vault_key=${key.id as string}`).set('Keyvault-Tenant', tenantId).expect(200);
        const rows = res.body.data as { status: number }[];
        return rows.length === 1 && rows[0].status !== 0 && rows;
      }, 'the audit row');
      expect(rows[0].status).toBe(200);

      // ending the chat revokes its vault key: the same gateway key is refused for it from then on
      const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
      await post(`${backend}/chat/${first.body.chat_id as string}/end`);
      // refused once the proxy has seen the revocation's notice (it may land just after the api answered)
      await eventually(async () => notices.mock.calls.some(([p]) => p.includes(key.id as string)) || undefined, 'the revocation notice');
      notices.mockRestore();
      const again = await fetch(run.request.url, { method: 'POST', headers: run.request.headers, body: JSON.stringify(run.request.body) });
      expect(again.status).toBe(401);
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe('vault_key_revoked');
    });

    it("answers with the Fail Branch's cap message when the call would pass the cap", async () => {
      const backend = await llmBackend(0.0001);
      const res = await post(`${backend}/chat`, { user: 'u_10', query: 'Hello' });
      expect(res).toMatchObject({ status: 200, body: { answer: "Today's budget for this assistant is used up." } });
      expect(llmDify.runs.at(-1)!.body).toMatch(/^API request failed with status code 429: .*daily_cap_exceeded/);
    });
  });
});
