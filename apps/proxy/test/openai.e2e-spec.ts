import { request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const REAL_KEY = 'sk-real-openai-key-0001';

describe('proxy with the official OpenAI SDK', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('OpenAI user');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: [REAL_KEY] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (allowed = ['POST /v1/chat/completions', 'GET /v1/models']) =>
    fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 10, allowed });
  const client = (token: string) => new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  const spend = async (vaultKeyId: string) =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vaultKeyId]))[0];
  const settled = (vaultKeyId: string) =>
    eventually(async () => {
      const s = await spend(vaultKeyId);
      return s && s.reserved_nanos === '0' ? s : undefined;
    }, 'the reservation to settle');

  it('creates a chat completion with the real key swapped in, settled to usage', async () => {
    const vk = await issue();
    stub.clear();
    const completion = await client(vk.token).chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say meow' }], max_tokens: 16 },
      { headers: { 'X-Run-Id': 'run-1', 'X-Conversation-Id': 'conv-1' } },
    );
    expect(completion.choices[0].message.content).toBe('meow');

    const [seen] = stub.seen();
    expect(seen.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    const everything = JSON.stringify(seen.headers) + seen.body.toString();
    expect(everything).not.toContain(vk.token);
    expect(everything).not.toContain('vault_key_');
    expect(seen.headers['x-run-id']).toBeUndefined();
    expect(seen.headers['x-conversation-id']).toBeUndefined();

    // usage 12 prompt + 3 completion tokens at $0.15 / $0.60 per million = 3.6 micro-dollars, exactly
    expect(await settled(vk.id)).toEqual({ spent_nanos: '3600', reserved_nanos: '0' });
    const [row] = await eventually(() => fx.query<Record<string, unknown>>('SELECT * FROM audit_log WHERE vault_key_id = $1', [vk.id]).then((r) => r.length > 0 && r), 'the audit row');
    expect(row).toMatchObject({
      tenant_id: tenantId, vendor: 'openai', method: 'POST', path: '/v1/chat/completions', status: 200, cost_nanos: '3600',
      run_id: 'run-1', conversation_id: 'conv-1', error_code: null, credential_id: credentialId,
    });
  });

  it('streams without the usage chunk the client did not ask for, and still settles to usage', async () => {
    const vk = await issue();
    stub.clear();
    const stream = await client(vk.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say meow' }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('meow');
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(JSON.parse(stub.seen()[0].body.toString()).stream_options).toEqual({ include_usage: true });
    expect(await settled(vk.id)).toEqual({ spent_nanos: '3600', reserved_nanos: '0' });
  });

  it('passes the usage chunk to a client that asked for it', async () => {
    const vk = await issue();
    const stream = await client(vk.token).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say meow' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 3 } });
    expect(await settled(vk.id)).toEqual({ spent_nanos: '3600', reserved_nanos: '0' });
  });

  it("sends the upstream's first chunk before the upstream has finished", async () => {
    const vk = await issue();
    stub.hold('first-chunk');
    try {
      const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"content":"me"');
      stub.release();
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      expect(rest).toContain('data: [DONE]');
    } finally {
      stub.hold(null);
      stub.release();
    }
  });

  it('survives clients that leave before the answer or mid-stream, and still settles a call the vendor answered', async () => {
    const connections = () => new Promise<number>((resolve) => proxy.proxy.server.getConnections((_, n) => resolve(n)));
    for (const point of ['headers', 'first-chunk'] as const) {
      const vk = await issue();
      stub.clear();
      stub.hold(point);
      try {
        const before = await connections();
        const req = request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/openai/v1/chat/completions', agent: false, headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        const firstChunk = new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
        req.end(JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 10, messages: [], stream: true }));
        await eventually(async () => stub.seen().length === 1, 'the upstream to get the call');
        if (point === 'first-chunk') await firstChunk;
        req.destroy();
        // the upstream answers only once the proxy has seen the client go
        await eventually(async () => (await connections()) === before, 'the proxy to see the client leave');
      } finally {
        stub.hold(null);
        stub.release();
      }
      // a call the vendor answered is never free, and never left reserved
      const s = await settled(vk.id);
      expect(BigInt(s.spent_nanos)).toBeGreaterThanOrEqual(3600n);
    }
    const vk = await issue();
    expect((await client(vk.token).chat.completions.create({ model: 'gpt-4o-mini', messages: [] })).choices[0].message.content).toBe('meow');
  });

  it('lists models for free (no reservation)', async () => {
    const vk = await issue();
    const models = await client(vk.token).models.list();
    expect(models.data[0].id).toBe('gpt-4o-mini');
    expect(await spend(vk.id)).toBeUndefined();
  });

  it('refuses an unknown model and an unpriced endpoint with 422 unpriced_request, forwarding nothing', async () => {
    const vk = await issue(['POST /v1/**']);
    stub.clear();
    const err = await client(vk.token)
      .chat.completions.create({ model: 'gpt-9-ultra', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(422);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'invalid_request_error', code: 'unpriced_request', param: 'model' });
    const images = await fetch(`${proxy.url}/openai/v1/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dall-e-3', prompt: 'a cat' }),
    });
    expect(images.status).toBe(422);
    expect(((await images.json()) as { error: { code: string } }).error.code).toBe('unpriced_request');
    expect(stub.seen()).toHaveLength(0);
  });
});
