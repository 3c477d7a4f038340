import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { PriceBook } from '@keyvault/policy';
import { AnthropicAdapter, MessageStreamMeter } from './anthropic.adapter';
import type { OutgoingHeaders, PreparedCall, VendorCall } from './vendor-adapter';

const prices = PriceBook.load();
const adapter = new AnthropicAdapter(prices);
const sonnet = prices.model('anthropic', 'claude-sonnet-4-5')!; // $3 in, $15 out; cache writes $3.75 (5 min) / $6 (1 h), reads $0.30
const call = (path: string, body: unknown, method = 'POST'): VendorCall => ({
  method,
  path,
  query: '',
  headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  credential: { vendor: 'anthropic', baseUrl: null },
});
const meterRun = (prepared: PreparedCall, status: number, chunks: string[]) => {
  const meter = prepared.meter!({ status, headers: {} });
  const out = chunks.map((c) => meter.transform(Buffer.from(c)).toString()).join('');
  return { out, rewrites: meter.rewrites, ...meter.finish() };
};
const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

describe('AnthropicAdapter', () => {
  it('sends the real key as x-api-key', () => {
    const headers: OutgoingHeaders = { 'anthropic-version': '2023-06-01' };
    adapter.authorize(headers, new Secret('sk-ant-real'));
    expect(headers).toEqual({ 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-real' });
  });

  it('moves to the next key on 401, 402 (billing), 403 and 429, not on overload or bad requests', () => {
    for (const status of [401, 402, 403, 429]) expect(adapter.keyRefused({ status, headers: {} })).toBe(true);
    for (const status of [200, 400, 404, 500, 529]) expect(adapter.keyRefused({ status, headers: {} })).toBe(false);
  });

  it('reserves every body byte as an input token plus max_tokens at the output price', () => {
    const c = call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] });
    // bytes × $3 + 1000 × $15 per million
    expect(adapter.prepare(c).costNanos).toBe(BigInt(c.body.length) * 3_000n + 1000n * 15_000n);
    // max_tokens is reserved as asked, even above the listed output limit (betas raise it); absent, the model's limit
    const big = call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 128_000 });
    expect(adapter.prepare(big).costNanos).toBe(prices.tokenCost(sonnet, big.body.length, 128_000));
    const bare = call('/v1/messages', { model: 'claude-sonnet-4-5' });
    expect(adapter.prepare(bare).costNanos).toBe(prices.tokenCost(sonnet, bare.body.length, 64_000));
  });

  it('reserves the input at the dearest cache-write rate when the request marks cache_control, however it is spelled', () => {
    const marked = call('/v1/messages', {
      model: 'claude-sonnet-4-5',
      max_tokens: 10,
      system: [{ type: 'text', text: 'long', cache_control: { type: 'ephemeral' } }],
    });
    expect(adapter.prepare(marked).costNanos).toBe(prices.tokensCost(sonnet, { input: 0, output: 10, cacheWrite1h: marked.body.length }));
    const escaped = call('/v1/messages', '{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"x","\\u0063ache_control":{"type":"ephemeral"}}]}]}');
    expect(adapter.prepare(escaped).costNanos).toBe(prices.tokensCost(sonnet, { input: 0, output: 10, cacheWrite1h: escaped.body.length }));
    const mentioned = call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'what is cache_control? caf\u00e9' }] });
    expect(adapter.prepare(mentioned).costNanos).toBe(prices.tokenCost(sonnet, mentioned.body.length, 10));
  });

  it('settles a JSON answer to its usage, cache writes and reads at their prices, and an error answer to nothing', () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100_000 }));
    const doc = JSON.stringify({
      type: 'message',
      content: [{ type: 'text', text: 'meow' }],
      usage: { input_tokens: 1000, output_tokens: 100, cache_creation_input_tokens: 2000, cache_read_input_tokens: 10_000 },
    });
    // 1000 × 3 + 100 × 15 + 2000 × 3.75 + 10000 × 0.3 = 3000 + 1500 + 7500 + 3000
    expect(meterRun(prepared, 200, [doc.slice(0, 7), doc.slice(7)])).toEqual({ out: doc, rewrites: false, costNanos: 15_000_000n });
    // the 1-hour part of cache writes at its own price: 500 × 3.75 + 1500 × 6
    const split = JSON.stringify({
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 2000, cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 1500 } },
    });
    expect(meterRun(prepared, 200, [split]).costNanos).toBe(10_875_000n);
    expect(meterRun(prepared, 200, ['{"type":"message"}']).costNanos).toBeNull();
    expect(meterRun(prepared, 529, ['{"type":"error","error":{"type":"overloaded_error"}}']).costNanos).toBe(0n);
  });

  it('reads a stream’s usage from message_start and the cumulative message_delta, passing every byte unchanged', () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true }));
    expect(prepared.body).toBeUndefined();
    const stream =
      event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 1000, output_tokens: 1, cache_read_input_tokens: 0 } } }) +
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
      'event: ping\ndata: {"type": "ping"}\n\n' +
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'mé' } }) +
      event('content_block_stop', { index: 0 }) +
      event('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 100 } }) +
      event('message_delta', { delta: {}, usage: { input_tokens: null, output_tokens: 200 } }) +
      event('message_stop', {});
    const bytes = Buffer.from(stream);
    const meter = new MessageStreamMeter((u) => prices.tokensCost(sonnet, { input: (u as { input_tokens: number }).input_tokens, output: (u as { output_tokens: number }).output_tokens }));
    let out = '';
    for (let i = 0; i < bytes.length; i += 7) out += meter.transform(bytes.subarray(i, i + 7)).toString('latin1');
    expect(Buffer.from(out, 'latin1').toString()).toBe(stream);
    // 1000 × 3 + 200 × 15
    expect(meter.finish().costNanos).toBe(6_000_000n);
    expect(meterRun(prepared, 200, [stream])).toMatchObject({ out: stream, rewrites: false, costNanos: 6_000_000n });
  });

  it('charges the reservation for a stream that ended before any message_delta', () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true }));
    const cut = event('message_start', { message: { usage: { input_tokens: 10, output_tokens: 1 } } }) + event('error', { error: { type: 'overloaded_error' } });
    expect(meterRun(prepared, 200, [cut]).costNanos).toBeNull();
  });

  it('lets token counting and model lists through for free, and refuses what it cannot price', () => {
    expect(adapter.prepare(call('/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [] }))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('/v1/models', '', 'GET'))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('/v1/models/claude-sonnet-4-5', '', 'GET'))).toEqual({ costNanos: 0n });
    const unpriced = (c: VendorCall, param?: string) => expect(() => adapter.prepare(c)).toThrow(expect.objectContaining({ code: 'unpriced_request', ...(param ? { param } : {}) }));
    unpriced(call('/v1/messages/batches', { requests: [] }));
    unpriced(call('/v1/complete', { model: 'claude-2', prompt: 'x' }));
    unpriced(call('/v1/messages', { model: 'claude-9-galactic', max_tokens: 1 }), 'model');
    unpriced(call('/v1/messages', { max_tokens: 1 }), 'model');
    expect(adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5-20250929', max_tokens: 1 })).costNanos).toBeGreaterThan(0n);
    expect(() => adapter.prepare(call('/v1/messages', '{nope'))).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});

describe('Anthropic calls cut short, and inputs the body does not bound (issue 18)', () => {
  const cutRun = (prepared: PreparedCall, chunks: string[]) => {
    const meter = prepared.meter!({ status: 200, headers: {} });
    for (const c of chunks) meter.transform(Buffer.from(c));
    return meter.finish(true).costNanos;
  };
  const start = (usage: Record<string, unknown>) => event('message_start', { message: { id: 'm', usage } });

  it('a stream cut before message_delta books the input message_start reported (cache rates included) plus the bytes streamed', () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [] }));
    const chunks = [
      start({ input_tokens: 20, cache_creation_input_tokens: 10, cache_read_input_tokens: 1000, output_tokens: 1 }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'héllo' } }),
      event('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get', input: {} } }),
      event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":' } }),
    ];
    // 'héllo' 6 + 'get' 3 + '{"q":' 5 = 14 output bytes
    expect(cutRun(prepared, chunks)).toBe(20n * 3_000n + 10n * 3_750n + 1000n * 300n + 14n * 15_000n);
    expect(prepared.tokens!.actual).toBe(20 + 10 + 1000 + 14);
    // without message_start: the prompt's worst case
    const c = call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [] });
    expect(cutRun(adapter.prepare(c), [chunks[2]])).toBe(BigInt(c.body.length) * 3_000n + 6n * 15_000n);
  });

  it('a server tool keeps its worst case in a cut, and its results are not counted as generated text', () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [], tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }] };
    const prepared = adapter.prepare(call('/v1/messages', body));
    const chunks = [
      start({ input_tokens: 20, output_tokens: 1 }),
      event('content_block_start', { index: 0, content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://e.com', title: 'a long title', encrypted_content: 'x'.repeat(500) }] } }),
      event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'ok' } }),
    ];
    expect(cutRun(prepared, chunks)).toBe(20n * 3_000n + 2n * 250_000_000n + 2n * 15_000n);
  });

  it('extended thinking cut before its final usage books the worst case (null)', () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 2000, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [] }));
    expect(cutRun(prepared, [start({ input_tokens: 20, output_tokens: 1 })])).toBeNull();
  });

  it('reserves images, documents and max_uses × server tools; refuses a web search without max_uses', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://e.com/a.png' } }, { type: 'document', source: { type: 'url', url: 'https://e.com/a.pdf' } }] }],
      tools: [{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 3 }],
    };
    const c = call('/v1/messages', body);
    const prepared = adapter.prepare(c);
    expect(prepared.inputs).toEqual({ images: 1, files: 1, serverToolUses: 3 });
    expect(prepared.costNanos).toBe(BigInt(c.body.length) * 3_000n + 10n * 15_000n + 30_000_000n + 3_000_000_000n + 3n * 250_000_000n);
    expect(() => adapter.prepare(call('/v1/messages', { ...body, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }))).toThrow(
      expect.objectContaining({ code: 'unpriced_request', param: 'tools' }),
    );
  });

  it("books the searches the final usage reports at the price list's fee", () => {
    const prepared = adapter.prepare(call('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [], tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] }));
    const doc = JSON.stringify({ usage: { input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 3 } } });
    expect(meterRun(prepared, 200, [doc]).costNanos).toBe(100n * 3_000n + 10n * 15_000n + 3n * 10_000_000n);
  });
});
