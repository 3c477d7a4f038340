import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicStub, startOpenAiStub, type AnthropicStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

/**
 * Inputs a body's bytes do not bound (issue 18): images, files and server tools reserve the
 * price list's worst case each (OpenAI: $0.01 an image, $0.50 a file, $0.05 a server-tool use;
 * Anthropic: $0.03, $3, $0.25), max_usd_per_call sees that worst case, and a key's
 * `allowed_inputs` may refuse them. Through the real api and proxy with the official SDKs.
 */
describe('images, files and server tools in LLM calls', () => {
  let api: ApiHarness;
  let openaiStub: OpenAiStub;
  let anthropicStub: AnthropicStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let openaiCred: string;
  let anthropicCred: string;

  beforeAll(async () => {
    api = await startApi();
    openaiStub = await startOpenAiStub();
    anthropicStub = await startAnthropicStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: openaiStub.url, KEYVAULT_UPSTREAM_ANTHROPIC: anthropicStub.url });
    tenantId = await fx.tenant('Vision agent');
    openaiCred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-vision'] })).id;
    anthropicCred = (await fx.credential(tenantId, { vendor: 'anthropic', keys: ['sk-ant-real-vision'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await openaiStub?.close();
    await anthropicStub?.close();
    await fx?.close();
    await api?.close();
  });

  /** the key's outcome rows, once there are `n` */
  const rows = (vaultKeyId: string, n = 1) =>
    eventually(
      async () => {
        const r = await fx.query<{ status: number; error_code: string | null; cost_nanos: string; reserved_nanos: string | null }>(
          'SELECT status, error_code, cost_nanos, reserved_nanos FROM audit_log WHERE vault_key_id = $1 AND status <> 0 ORDER BY id',
          [vaultKeyId],
        );
        return r.length >= n && r;
      },
      'the audit rows',
      30_000,
    );
  const view = async (id: string) => (await api.admin().get(`/vault/keys/${id}`).set('Keyvault-Tenant', tenantId)).body as Record<string, unknown>;

  describe('OpenAI chat completions', () => {
    const sent: number[] = [];
    const openai = (token: string) =>
      new OpenAI({
        apiKey: token,
        baseURL: `${proxy.url}/openai/v1`,
        maxRetries: 0,
        fetch: (url, init) => {
          sent.push(Buffer.byteLength(String(init?.body ?? '')));
          return fetch(url, init);
        },
      });
    const vaultKey = (extra: Record<string, unknown> = {}) =>
      fx.vaultKey(tenantId, { vendor: 'openai', credentialId: openaiCred, capUsd: 10, allowed: ['POST /v1/chat/completions'], extra });
    const withImage = {
      model: 'gpt-4o-mini',
      max_tokens: 16,
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'what is this?' }, { type: 'image_url' as const, image_url: { url: 'https://example.com/cat.png' } }] }],
    };
    const textOnly = { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user' as const, content: 'what is this?' }] };

    it("reserves an image URL's worst case on top of the tokens, then settles to the usage", async () => {
      const vk = await vaultKey();
      sent.length = 0;
      await openai(vk.token).chat.completions.create(withImage);
      // every body byte a token at $0.15/M, 16 output tokens at $0.60/M, and $0.01 for the image
      const worst = BigInt(sent[0]) * 150n + 16n * 600n + 10_000_000n;
      expect(await rows(vk.id)).toEqual([{ status: 200, error_code: null, cost_nanos: '3600', reserved_nanos: String(worst) }]);
    });

    it('max_usd_per_call sees the same worst case: a call that passes without the image is refused with it, before anything is sent', async () => {
      // $0.005: well above the text call's worst case (~$0.00004), below the image's $0.01
      const vk = await vaultKey({ max_usd_per_call: 0.005 });
      await openai(vk.token).chat.completions.create(textOnly);
      openaiStub.clear();
      const err = (await openai(vk.token).chat.completions.create(withImage).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err.error).toMatchObject({ code: 'per_call_limit_exceeded' });
      expect(openaiStub.seen()).toHaveLength(0);
      expect((await rows(vk.id, 2)).map((r) => r.error_code)).toEqual([null, 'per_call_limit_exceeded']);
    });

    it("allowed_inputs refuses what it leaves out (403 input_not_allowed) and lets the rest through; GET shows it", async () => {
      const vk = await vaultKey({ allowed_inputs: ['files'] });
      expect(await view(vk.id)).toMatchObject({ allowed_inputs: ['files'] });
      openaiStub.clear();
      const err = (await openai(vk.token).chat.completions.create(withImage).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err.error).toMatchObject({ type: 'permission_error', code: 'input_not_allowed', param: 'messages' });
      expect(openaiStub.seen()).toHaveLength(0);
      const withFile = { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user' as const, content: [{ type: 'file' as const, file: { file_id: 'file-abc123' } }] }] };
      await openai(vk.token).chat.completions.create(withFile);
      expect(openaiStub.seen()).toHaveLength(1);
      expect((await rows(vk.id, 2)).map((r) => r.error_code)).toEqual(['input_not_allowed', null]);
      // a key without the field shows null: every kind allowed
      expect(await view((await vaultKey()).id)).toMatchObject({ allowed_inputs: null });
    });
  });

  describe('Anthropic messages', () => {
    const sent: number[] = [];
    const anthropic = (token: string) =>
      new Anthropic({
        apiKey: token,
        baseURL: `${proxy.url}/anthropic`,
        maxRetries: 0,
        fetch: (url, init) => {
          sent.push(Buffer.byteLength(String(init?.body ?? '')));
          return fetch(url, init);
        },
      });
    const vaultKey = (extra: Record<string, unknown> = {}) =>
      fx.vaultKey(tenantId, { vendor: 'anthropic', credentialId: anthropicCred, capUsd: 10, allowed: ['POST /v1/messages'], extra });
    const search = (maxUses?: number) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: 'what happened today?' }],
      tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, ...(maxUses === undefined ? {} : { max_uses: maxUses }) }],
    });

    it('refuses a web search without max_uses as unpriced (its uses are unbounded), before anything is sent', async () => {
      const vk = await vaultKey();
      anthropicStub.clear();
      const err = (await anthropic(vk.token).messages.create(search()).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(err).toBeInstanceOf(Anthropic.UnprocessableEntityError);
      expect(err.error).toMatchObject({ error: { code: 'unpriced_request', param: 'tools' } });
      expect(anthropicStub.seen()).toHaveLength(0);
    });

    it("reserves max_uses × a web search's worst case, and books the searches the usage reports at their fee", async () => {
      const vk = await vaultKey();
      sent.length = 0;
      Object.assign(anthropicStub.usage, { server_tool_use: { web_search_requests: 1 } });
      try {
        await anthropic(vk.token).messages.create(search(2));
      } finally {
        delete anthropicStub.usage.server_tool_use;
      }
      // bytes at $3/M, 64 output tokens at $15/M, 2 × $0.25; booked: 25 in, 7 out, one search at $0.01
      const worst = BigInt(sent[0]) * 3_000n + 64n * 15_000n + 2n * 250_000_000n;
      const booked = 25n * 3_000n + 7n * 15_000n + 10_000_000n;
      expect(await rows(vk.id)).toEqual([{ status: 200, error_code: null, cost_nanos: String(booked), reserved_nanos: String(worst) }]);
    });

    it('a key with allowed_inputs [] refuses server tools and images', async () => {
      const vk = await vaultKey({ allowed_inputs: [] });
      anthropicStub.clear();
      const tool = (await anthropic(vk.token).messages.create(search(1)).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(tool).toBeInstanceOf(Anthropic.PermissionDeniedError);
      expect(tool.error).toMatchObject({ error: { code: 'input_not_allowed', param: 'tools' } });
      const image = (await anthropic(vk.token)
        .messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }] }],
        })
        .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(image.error).toMatchObject({ error: { code: 'input_not_allowed', param: 'messages' } });
      expect(anthropicStub.seen()).toHaveLength(0);
    });
  });

  it('the api refuses allowed_inputs on a vendor that is not an LLM, and any kind it does not know', async () => {
    const stripeCred = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_inputs'] })).id;
    const issue = (body: Record<string, unknown>) =>
      api
        .admin()
        .post('/vault/keys')
        .set('Keyvault-Tenant', tenantId)
        .send({ daily_usd_cap: 1, expires_in: '1h', allowed_endpoints: ['POST /v1/x'], ...body });
    const stripe = await issue({ vendor: 'stripe', credential: stripeCred, allowed_inputs: ['images'] });
    expect(stripe.status).toBe(400);
    expect(stripe.body.error).toMatchObject({ param: 'allowed_inputs' });
    const unknown = await issue({ vendor: 'openai', credential: openaiCred, allowed_inputs: ['videos'] });
    expect(unknown.status).toBe(400);
  });
});
