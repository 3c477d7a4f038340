import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSseStreamStub, type SseStreamStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const IDLE_MS = 1_500;
/** text per streamed delta: 7 characters, 10 UTF-8 bytes (é is 2 bytes, € 3) */
const CHUNK = 'é€abcde';
const CHUNK_BYTES = Buffer.byteLength(CHUNK); // 10

/**
 * What a stream the proxy cut short is booked at (docs/streaming.md, libs/policy/stream-cut.ts):
 * a client that pressed Stop (the official SDKs aborting mid-stream) or an upstream idle too
 * long. The upstream connection is closed (the stub sees it), and the call is booked at the
 * prompt (as the vendor reported it, else its worst case) plus the streamed text's UTF-8 bytes
 * as output tokens: exactly, and below the worst case the call reserved.
 */
describe('a stream cut short books what was streamed', () => {
  let api: ApiHarness;
  let stub: SseStreamStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let openaiCred: string;
  let anthropicCred: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startSseStreamStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: stub.url,
      KEYVAULT_UPSTREAM_ANTHROPIC: stub.url,
      KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
    tenantId = await fx.tenant('Stream cut');
    openaiCred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-cut'] })).id;
    anthropicCred = (await fx.credential(tenantId, { vendor: 'anthropic', keys: ['sk-ant-real-cut'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const plan = (p: Partial<SseStreamStub['plan']>) => {
    stub.plan = { chunks: 3, gapMs: 20, chunkChars: 4, barrier: 0, stall: 'never', ...p };
    stub.reset();
  };
  /** The call's outcome row once written: what it reserved (its worst case) and what it was booked at. */
  const outcome = async (vaultKeyId: string) =>
    (
      await eventually(
        () =>
          fx
            .query<{ status: number; error_code: string | null; cost_nanos: string; reserved_nanos: string }>(
              'SELECT status, error_code, cost_nanos, reserved_nanos FROM audit_log WHERE vault_key_id = $1 AND status <> 0',
              [vaultKeyId],
            )
            .then((r) => r.length > 0 && r),
        'the outcome row',
        30_000,
      )
    )[0];
  const settledSpend = (vaultKeyId: string) =>
    eventually(
      async () => {
        const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vaultKeyId]);
        return s && s.reserved_nanos === '0' ? BigInt(s.spent_nanos) : undefined;
      },
      'the spend to settle',
      30_000,
    );

  describe('OpenAI chat completions (official openai SDK)', () => {
    // gpt-4o-mini: $0.15 / $0.60 per million tokens = 150 / 600 nano-dollars a token
    const IN = 150n;
    const OUT = 600n;
    const vaultKey = () => fx.vaultKey(tenantId, { vendor: 'openai', credentialId: openaiCred, capUsd: 10, allowed: ['POST /v1/chat/completions'] });
    /** the SDK, recording the bytes of each request body it sends (the proxy reserves one input token per byte) */
    const client = (token: string, sent: number[]) =>
      new OpenAI({
        apiKey: token,
        baseURL: `${proxy.url}/openai/v1`,
        maxRetries: 0,
        fetch: (url, init) => {
          sent.push(Buffer.byteLength(String(init?.body ?? '')));
          return fetch(url, init);
        },
      });
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'tell me a long story' }], max_tokens: 500, stream: true as const };

    it('a client that presses Stop mid-stream: the stub sees the close, and the call books the prompt worst case plus the streamed bytes, exactly', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ stall: 'first-chunk', chunkText: CHUNK });
      const sent: number[] = [];
      const stream = await client(vk.token, sent).chat.completions.create(ask);
      let text = '';
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        stream.controller.abort(); // Stop
      }
      expect(text).toBe(CHUNK);
      await eventually(async () => stub.closedEarly() === 1, 'the stub to see the connection close', 30_000);
      const [bodyBytes] = sent;
      const worst = BigInt(bodyBytes) * IN + 500n * OUT;
      const rule = BigInt(bodyBytes) * IN + BigInt(CHUNK_BYTES) * OUT;
      const row = await outcome(vk.id);
      expect(row).toEqual({ status: 200, error_code: 'client_closed', cost_nanos: String(rule), reserved_nanos: String(worst) });
      expect(rule).toBeLessThan(worst);
      expect(await settledSpend(vk.id)).toBe(rule);
    });

    it('an upstream idle past the limit: the SDK gets the SSE error, the stub sees the close, and the call books the same rule', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ stall: 'first-chunk', chunkChars: 9 });
      const sent: number[] = [];
      const stream = await client(vk.token, sent).chat.completions.create(ask);
      const failure = await (async () => {
        for await (const _ of stream) void _;
      })().then(() => null, (err: unknown) => err);
      expect((failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'upstream_timeout' });
      await eventually(async () => stub.closedEarly() === 1, 'the stub to see the connection close', 30_000);
      const rule = BigInt(sent[0]) * IN + 9n * OUT;
      expect(await outcome(vk.id)).toMatchObject({ status: 200, error_code: 'upstream_timeout', cost_nanos: String(rule) });
      expect(await settledSpend(vk.id)).toBe(rule);
    });

    it('a model whose reasoning is billed but not streamed (o4-mini) is booked at its worst case when stopped', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ stall: 'first-chunk' });
      const sent: number[] = [];
      const stream = await client(vk.token, sent).chat.completions.create({ ...ask, model: 'o4-mini', max_tokens: undefined, max_completion_tokens: 500 });
      for await (const _ of stream) stream.controller.abort();
      await eventually(async () => stub.closedEarly() === 1, 'the stub to see the connection close', 30_000);
      // o4-mini: $1.10 / $4.40 per million
      const worst = BigInt(sent[0]) * 1_100n + 500n * 4_400n;
      expect(await outcome(vk.id)).toMatchObject({ error_code: 'client_closed', cost_nanos: String(worst), reserved_nanos: String(worst) });
    });
  });

  describe('Anthropic messages (official @anthropic-ai/sdk)', () => {
    // claude-sonnet-4-5: $3 / $15 per million tokens = 3,000 / 15,000 nano-dollars a token
    const IN = 3_000n;
    const OUT = 15_000n;
    const vaultKey = () => fx.vaultKey(tenantId, { vendor: 'anthropic', credentialId: anthropicCred, capUsd: 10, allowed: ['POST /v1/messages'] });
    const client = (token: string, sent: number[]) =>
      new Anthropic({
        apiKey: token,
        baseURL: `${proxy.url}/anthropic`,
        maxRetries: 0,
        fetch: (url, init) => {
          sent.push(Buffer.byteLength(String(init?.body ?? '')));
          return fetch(url, init);
        },
      });
    const ask = { model: 'claude-sonnet-4-5', max_tokens: 1_000, messages: [{ role: 'user' as const, content: 'tell me a long story' }], stream: true as const };

    it('a client that presses Stop mid-stream: the stub sees the close, and the call books the input message_start reported plus the streamed bytes, exactly', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ stall: 'first-chunk', chunkText: CHUNK });
      const sent: number[] = [];
      const stream = await client(vk.token, sent).messages.create(ask);
      let text = '';
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text;
          stream.controller.abort(); // Stop
        }
      }
      expect(text).toBe(CHUNK);
      await eventually(async () => stub.closedEarly() === 1, 'the stub to see the connection close', 30_000);
      const worst = BigInt(sent[0]) * IN + 1_000n * OUT;
      // message_start reported 25 input tokens (and 1 output token, fewer than the bytes streamed)
      const rule = BigInt(stub.anthropicUsage.input_tokens) * IN + BigInt(CHUNK_BYTES) * OUT;
      expect(await outcome(vk.id)).toEqual({ status: 200, error_code: 'client_closed', cost_nanos: String(rule), reserved_nanos: String(worst) });
      expect(rule).toBeLessThan(worst);
      expect(await settledSpend(vk.id)).toBe(rule);
    });

    it('an upstream idle past the limit: the SDK gets the SSE error, the stub sees the close, and the call books the same rule', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ stall: 'first-chunk', chunkChars: 6 });
      const sent: number[] = [];
      const stream = await client(vk.token, sent).messages.create(ask);
      const failure = await (async () => {
        for await (const _ of stream) void _;
      })().then(() => null, (err: unknown) => err);
      expect(failure).toBeInstanceOf(Anthropic.APIError);
      await eventually(async () => stub.closedEarly() === 1, 'the stub to see the connection close', 30_000);
      const rule = BigInt(stub.anthropicUsage.input_tokens) * IN + 6n * OUT;
      expect(await outcome(vk.id)).toMatchObject({ status: 200, error_code: 'upstream_timeout', cost_nanos: String(rule) });
      expect(await settledSpend(vk.id)).toBe(rule);
    });

    it('a stream that completes is booked at its final usage, not by the rule', { timeout: 120_000 }, async () => {
      const vk = await vaultKey();
      plan({ chunks: 2, gapMs: 0 });
      const sent: number[] = [];
      const message = await client(vk.token, sent).messages.create(ask);
      for await (const _ of message) void _;
      expect(await outcome(vk.id)).toMatchObject({ error_code: null, cost_nanos: String(25n * IN + 7n * OUT) });
    });
  });
});
