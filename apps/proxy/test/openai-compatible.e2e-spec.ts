import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spendChecks } from '../../../test/harness/spend';

const REAL_KEY = 'gsk_real_groq_like_key_0001';

describe('proxy with the official OpenAI SDK against openai_compatible profiles', () => {
  let api: ApiHarness;
  /** a Groq-like API whose root is /openai/v1 */
  let groq: OpenAiStub;
  /** a vLLM-like server at a bare origin, serving /v1 */
  let vllm: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let groqProfile: string;
  let vllmProfile: string;
  let checks: ReturnType<typeof spendChecks>;

  beforeAll(async () => {
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    groq = await startOpenAiStub({ basePath: '/openai/v1' });
    vllm = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY);
    tenantId = await fx.tenant('Compatible user');
    groqProfile = (await fx.credential(tenantId, { vendor: 'openai_compatible', keys: [REAL_KEY], baseUrl: `${groq.url}/openai/v1` })).id;
    vllmProfile = (await fx.credential(tenantId, { vendor: 'openai_compatible', keys: ['vllm-token'], baseUrl: vllm.url })).id;
    checks = spendChecks(api, fx, tenantId);
    for (const stub of [groq, vllm]) Object.assign(stub.usage, { prompt_tokens: 40, completion_tokens: 2000 });
  });
  afterAll(async () => {
    await proxy?.close();
    await groq?.close();
    await vllm?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (credentialId: string, allowed = ['POST /v1/chat/completions', 'GET /v1/models'], capUsd = 1) =>
    fx.vaultKey(tenantId, { vendor: 'openai_compatible', credentialId, capUsd, allowed });
  const client = (token: string) => new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai_compatible/v1`, maxRetries: 0 });
  const chat = { model: 'llama-3.1-8b-instant', max_tokens: 4096, messages: [{ role: 'user' as const, content: 'Say meow' }] };

  it("joins the call onto a base_url that ends in its own /v1 (Groq's /openai/v1), with the real key, settled to usage", async () => {
    const vk = await issue(groqProfile);
    groq.clear();
    const completion = await client(vk.token).chat.completions.create(chat);
    expect(completion.choices[0].message.content).toBe('meow');

    const [seen] = groq.seen();
    expect(seen.path).toBe('/openai/v1/chat/completions');
    expect(seen.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(JSON.stringify(seen.headers) + seen.body.toString()).not.toContain('vault_key_');

    // 40 prompt tokens at $0.05 and 2000 completion tokens at $0.08 per million: 2 + 160 micro-dollars
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.000162);
    const [row] = await checks.auditRows(vk.id);
    expect(row).toMatchObject({ vendor: 'openai_compatible', path: '/v1/chat/completions', status: 200, cost_usd: 0.000162 });

    // streams too, and model lists are free
    const stream = await client(vk.token).chat.completions.create({ ...chat, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('meow');
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.000324);
    expect((await client(vk.token).models.list()).data).toHaveLength(1);
    expect(groq.seen().map((r) => r.path)).toEqual(['/openai/v1/chat/completions', '/openai/v1/chat/completions', '/openai/v1/models']);
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.000324);
  });

  it('keeps /v1 for a base_url that is a bare origin (a vLLM server)', async () => {
    const vk = await issue(vllmProfile);
    vllm.clear();
    expect((await client(vk.token).chat.completions.create(chat)).choices[0].message.content).toBe('meow');
    expect(vllm.seen().map((r) => [r.path, r.headers.authorization])).toEqual([['/v1/chat/completions', 'Bearer vllm-token']]);
    expect(await checks.spentTodayUsd(vk.id)).toBe(0.000162);
  });

  it('refuses a model outside the openai_compatible price list with 422 unpriced_request, forwarding nothing', async () => {
    const vk = await issue(groqProfile);
    groq.clear();
    const err = (await client(vk.token).chat.completions.create({ ...chat, model: 'gpt-4o' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(422);
    expect(err.error).toMatchObject({ code: 'unpriced_request', param: 'model' });
    expect(groq.seen()).toHaveLength(0);
  });

  it('refuses a call off the allowlist with 403, forwarding nothing', async () => {
    const vk = await issue(groqProfile, ['GET /v1/models']);
    groq.clear();
    const err = (await client(vk.token).chat.completions.create(chat).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(403);
    expect(err.error).toMatchObject({ code: 'endpoint_not_allowed' });
    expect(groq.seen()).toHaveLength(0);
  });
});
