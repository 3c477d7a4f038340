import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicStub, type AnthropicStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spendChecks } from '../../../test/harness/spend';

const REAL_KEY = 'sk-ant-api03-real-anthropic-key-0001';
const MESSAGE = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Say meow' }] };

describe('proxy with the official Anthropic SDK', () => {
  let api: ApiHarness;
  let stub: AnthropicStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;
  let checks: ReturnType<typeof spendChecks>;

  beforeAll(async () => {
    api = await startApi();
    stub = await startAnthropicStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_ANTHROPIC: stub.url });
    tenantId = await fx.tenant('Anthropic user');
    credentialId = (await fx.credential(tenantId, { vendor: 'anthropic', keys: [REAL_KEY] })).id;
    checks = spendChecks(api, fx, tenantId);
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (allowed = ['POST /v1/messages', 'POST /v1/messages/count_tokens', 'GET /v1/models'], capUsd = 10, credential = credentialId) =>
    fx.vaultKey(tenantId, { vendor: 'anthropic', credentialId: credential, capUsd, allowed });
  const client = (token: string) => new Anthropic({ apiKey: token, baseURL: `${proxy.url}/anthropic`, maxRetries: 0 });
  const usage = (u: Partial<AnthropicStub['usage']>) => Object.assign(stub.usage, { input_tokens: 25, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }, u);

  it('creates a message with the real key as x-api-key, settled to usage', async () => {
    usage({});
    const vk = await issue();
    stub.clear();
    const message = await client(vk.token).messages.create(MESSAGE, { headers: { 'X-Run-Id': 'run-a1' } });
    expect(message.content).toEqual([{ type: 'text', text: 'meow' }]);

    const [seen] = stub.seen();
    expect(seen.path).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe(REAL_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    // the SDK's own API version passes through
    expect(seen.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(seen.headers['x-run-id']).toBeUndefined();
    const everything = JSON.stringify(seen.headers) + seen.body.toString();
    expect(everything).not.toContain(vk.token);
    expect(everything).not.toContain('vault_key_');

    // 25 input tokens at $3 and 7 output tokens at $15 per million: 75 + 105 micro-dollars
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.00018);
    const [row] = await checks.auditRows(vk.id);
    expect(row).toMatchObject({ vendor: 'anthropic', method: 'POST', path: '/v1/messages', status: 200, cost_usd: 0.00018 });
  });

  it('settles prompt-cache writes and reads at their own prices', async () => {
    usage({ cache_creation_input_tokens: 1000, cache_read_input_tokens: 10_000 });
    const vk = await issue();
    // a prompt long enough to hold the 11,000 cached tokens the stub reports (the settled cost never passes the reservation)
    const system = 'You are a cat who answers every question with a single meow. '.repeat(200);
    await client(vk.token).messages.create({ ...MESSAGE, system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }] });
    // 75 + 105 + 1000 × $3.75 + 10000 × $0.30 per million = 75 + 105 + 3750 + 3000 micro-dollars
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.00693);
    usage({});
  });

  it('streams every event through unchanged and settles to the streamed usage', async () => {
    usage({ output_tokens: 9 });
    const vk = await issue();
    stub.clear();
    const stream = await client(vk.token).messages.create({ ...MESSAGE, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ usage: { output_tokens: 9 } });
    expect(stub.seen()[0].headers['x-api-key']).toBe(REAL_KEY);
    // 25 × 3 + 9 × 15 = 210 micro-dollars
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.00021);

    // the SDK's stream helper assembles the same message
    const vk2 = await issue();
    const final = await client(vk2.token).messages.stream(MESSAGE).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'meow' }]);
    expect(final.usage).toMatchObject({ input_tokens: 25, output_tokens: 9 });
    expect(await checks.spentTodayUsd(vk2.id)).toBe(0.00021);

    // byte for byte what the vendor sent (pings included)
    const vk3 = await issue();
    const post = (url: string, key: string) =>
      fetch(url, { method: 'POST', headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ ...MESSAGE, stream: true }) }).then((r) => r.text());
    const direct = await post(`${stub.url}/v1/messages`, REAL_KEY);
    expect(direct).toContain('event: ping');
    expect(await post(`${proxy.url}/anthropic/v1/messages`, vk3.token)).toBe(direct);
    usage({});
  });

  it('counts tokens and lists models for free (no reservation)', async () => {
    const vk = await issue();
    expect(await client(vk.token).messages.countTokens({ model: 'claude-sonnet-4-5', messages: MESSAGE.messages })).toEqual({ input_tokens: 25 });
    expect((await client(vk.token).models.list()).data[0].id).toBe('claude-sonnet-4-5');
    expect(await checks.ledger(vk.id)).toBeUndefined();
    const rows = await checks.auditRows(vk.id, 2);
    expect(rows.map((r) => [r.path, r.cost_usd])).toEqual([['/v1/messages/count_tokens', 0], ['/v1/models', 0]]);
  });

  it('refuses an unknown model with 422 unpriced_request, forwarding nothing', async () => {
    const vk = await issue();
    stub.clear();
    const err = await client(vk.token).messages.create({ ...MESSAGE, model: 'claude-galactic-9' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'invalid_request_error', code: 'unpriced_request', param: 'model' } });
    expect(stub.seen()).toHaveLength(0);
  });

  it('refuses a call off the allowlist with 403, and a worst case above the cap with 429, forwarding nothing', async () => {
    const countOnly = await issue(['POST /v1/messages/count_tokens']);
    stub.clear();
    const err = (await client(countOnly.token).messages.create(MESSAGE).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err.status).toBe(403);
    expect(err.error).toMatchObject({ error: { code: 'endpoint_not_allowed' } });

    // a cent cannot cover max_tokens 20000 at $15 per million ($0.30), whatever the answer would be
    const small = await issue(undefined, 0.01);
    const capped = (await client(small.token).messages.create({ ...MESSAGE, max_tokens: 20_000 }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(capped.status).toBe(429);
    expect(capped.error).toMatchObject({ error: { code: 'daily_cap_exceeded' } });
    expect(stub.seen()).toHaveLength(0);
  });

  it("moves to the profile's next key when Anthropic answers 402 billing_error", async () => {
    const cred = await fx.credential(tenantId, { vendor: 'anthropic', keys: ['sk-ant-broke', 'sk-ant-paid'], strategy: 'failover' });
    stub.fail('sk-ant-broke', 402);
    try {
      const vk = await issue(['POST /v1/messages'], 10, cred.id);
      stub.clear();
      expect((await client(vk.token).messages.create(MESSAGE)).content[0]).toEqual({ type: 'text', text: 'meow' });
      expect(stub.seen().map((r) => r.headers['x-api-key'])).toEqual(['sk-ant-broke', 'sk-ant-paid']);
      const [row] = await checks.auditRows(vk.id);
      expect(row.provider_key_id).toBe(cred.keyIds[1]);
    } finally {
      stub.clearFailures();
    }
  });
});
