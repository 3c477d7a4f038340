import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { PriceBook } from '@keyvault/policy';
import fc from 'fast-check';
import { generatedTextBytes } from '@keyvault/policy';
import { ChatStreamMeter, deltaTextBytes, OpenAiAdapter } from './openai.adapter';
import type { OutgoingHeaders, PreparedCall, VendorCall } from './vendor-adapter';

const prices = PriceBook.load();
const adapter = new OpenAiAdapter(prices);
const call = (path: string, body: unknown, method = 'POST'): VendorCall => ({
  method,
  path,
  query: '',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  credential: { vendor: 'openai', baseUrl: null },
});
const meterRun = (prepared: PreparedCall, status: number, chunks: string[]) => {
  const meter = prepared.meter!({ status, headers: {} });
  const out = chunks.map((c) => meter.transform(Buffer.from(c)).toString()).join('');
  const { tail, costNanos } = meter.finish();
  return { out: out + (tail ?? ''), costNanos, rewrites: meter.rewrites };
};
const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

describe('OpenAiAdapter', () => {
  it('sends the real key as Bearer', () => {
    const headers: OutgoingHeaders = {};
    adapter.authorize(headers, new Secret('sk-real'));
    expect(headers.authorization).toBe('Bearer sk-real');
  });

  it('reserves body bytes as input tokens plus the output limit times n, at the model price', () => {
    const body = { model: 'gpt-4o', max_tokens: 100, n: 2, messages: [{ role: 'user', content: 'hi' }] };
    const c = call('/v1/chat/completions', body);
    const gpt4o = prices.model('openai', 'gpt-4o')!;
    expect(adapter.prepare(c).costNanos).toBe(prices.tokenCost(gpt4o, c.body.length, 200));
    // max_completion_tokens wins over max_tokens; absent both, the model's output limit
    expect(adapter.prepare(call('/v1/chat/completions', { model: 'gpt-4o', max_completion_tokens: 10, max_tokens: 1000 })).costNanos).toBe(
      prices.tokenCost(gpt4o, JSON.stringify({ model: 'gpt-4o', max_completion_tokens: 10, max_tokens: 1000 }).length, 10),
    );
    const bare = call('/v1/chat/completions', { model: 'gpt-4o' });
    expect(adapter.prepare(bare).costNanos).toBe(prices.tokenCost(gpt4o, bare.body.length, gpt4o.maxOutputTokens));
  });

  it('settles a JSON answer to its usage, and an error answer to nothing', () => {
    const prepared = adapter.prepare(call('/v1/chat/completions', { model: 'gpt-4o-mini', max_tokens: 5 }));
    const doc = JSON.stringify({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 1000 } });
    expect(meterRun(prepared, 200, [doc.slice(0, 10), doc.slice(10)])).toEqual({ out: doc, costNanos: 750_000n, rewrites: false });
    expect(meterRun(prepared, 200, ['{"no":"usage"}']).costNanos).toBeNull();
    expect(meterRun(prepared, 400, ['{"error":{}}']).costNanos).toBe(0n);
  });

  it('asks upstream for stream usage, hides the usage-only chunk from a client that did not ask, and reads it', () => {
    const prepared = adapter.prepare(call('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_obfuscation: false } }));
    expect(JSON.parse(prepared.body!.toString()).stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    const content = sse({ choices: [{ delta: { content: 'hé' } }], usage: null });
    const usage = sse({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 1000 } });
    const stream = content + usage + 'data: [DONE]\n\n';
    // chunked at awkward places, including inside a multi-byte character
    const bytes = Buffer.from(stream);
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    const meter = prepared.meter!({ status: 200, headers: {} });
    const out = [bytes.subarray(0, cut), bytes.subarray(cut, cut + 40), bytes.subarray(cut + 40)].map((b) => meter.transform(b).toString()).join('');
    expect(out + (meter.finish().tail ?? '')).toBe(content + 'data: [DONE]\n\n');
    expect(meterRun(prepared, 200, [stream]).costNanos).toBe(750_000n);
    expect(meterRun(prepared, 200, [content]).costNanos).toBeNull();
  });

  it('passes the usage chunk through, unchanged, to a client that asked for it', () => {
    const prepared = adapter.prepare(call('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } }));
    expect(prepared.body).toBeUndefined();
    const stream = sse({ choices: [{ delta: { content: 'x' } }] }) + sse({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 0 } });
    expect(meterRun(prepared, 200, [stream])).toEqual({ out: stream, costNanos: 1_500n, rewrites: false });
  });

  it('meters embeddings by prompt tokens', () => {
    const prepared = adapter.prepare(call('/v1/embeddings', { model: 'text-embedding-3-small', input: 'hello' }));
    expect(prepared.costNanos).toBeGreaterThan(0n);
    expect(meterRun(prepared, 200, [JSON.stringify({ usage: { prompt_tokens: 1_000_000 } })]).costNanos).toBe(20_000_000n);
  });

  it('lets free endpoints through at no cost and refuses what it cannot price', () => {
    expect(adapter.prepare(call('/v1/models', '', 'GET'))).toEqual({ costNanos: 0n });
    expect(() => adapter.prepare(call('/v1/images/generations', { model: 'dall-e-3' }))).toThrow(expect.objectContaining({ code: 'unpriced_request' }));
    expect(() => adapter.prepare(call('/v1/chat/completions', { model: 'gpt-unknown' }))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: 'model' }));
    expect(() => adapter.prepare(call('/v1/chat/completions', { messages: [] }))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: 'model' }));
    expect(() => adapter.prepare(call('/v1/chat/completions', '{nope'))).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    expect(() => adapter.prepare(call('/v1/chat/completions', '[1]'))).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});

describe('ChatStreamMeter', () => {
  it('holds back only an incomplete event', () => {
    const m = new ChatStreamMeter(true, () => 1n);
    expect(m.transform(Buffer.from('data: {"choices":[{"delta":{}}]}\n\ndata: {"cho'))).toBe('data: {"choices":[{"delta":{}}]}\n\n');
    expect(m.transform(Buffer.from('ices":[1]}\n\n'))).toBe('data: {"choices":[1]}\n\n');
    expect(m.finish()).toEqual({ tail: '', costNanos: null });
  });
});

describe('OpenAI calls cut short, and inputs the body does not bound (issue 18)', () => {
  const mini = prices.model('openai', 'gpt-4o-mini')!; // 150 / 600 n$ a token
  const cutRun = (prepared: PreparedCall, chunks: string[]) => {
    const meter = prepared.meter!({ status: 200, headers: {} });
    for (const c of chunks) meter.transform(Buffer.from(c));
    return meter.finish(true).costNanos;
  };

  it('a stream cut before its usage books the prompt worst case plus the bytes the deltas carried (content, tool calls), capped at the output limit', () => {
    const c = call('/v1/chat/completions', { model: 'gpt-4o-mini', max_tokens: 50, n: 2, stream: true });
    const prepared = adapter.prepare(c);
    const prompt = BigInt(c.body.length) * mini.inputNanosPerToken;
    const chunks = [
      sse({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hé' } }, { index: 1, delta: { content: 'yo' } }] }),
      sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a"' } }] } }] }),
      'data: {"choices":[{"index":0,"delta":{"content":"par', // cut inside an event: not JSON, not counted
    ];
    // 'hé' 3 + 'yo' 2 + 'get' 3 + '{"a"' 4 = 12 bytes
    expect(cutRun(prepared, chunks)).toBe(prompt + 12n * mini.outputNanosPerToken);
    // and max_tokens_per_minute counts it as booked: the body's bytes and the 12 output tokens
    expect(prepared.tokens!.actual).toBe(c.body.length + 12);
    // the same stream ending without usage and without a cut is its worst case (null)
    const whole = prepared.meter!({ status: 200, headers: {} });
    whole.transform(Buffer.from(chunks[0]));
    expect(whole.finish().costNanos).toBeNull();
    // more text than the output limit (50 × n) books the limit
    expect(cutRun(prepared, [sse({ choices: [{ delta: { content: 'x'.repeat(500) } }] })])).toBe(prepared.costNanos);
  });

  it('a stream cut after its usage books the usage', () => {
    const prepared = adapter.prepare(call('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true }));
    expect(cutRun(prepared, [sse({ choices: [{ delta: { content: 'hello' } }] }), sse({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 2 } })])).toBe(2_700n);
  });

  it('a hidden-reasoning model cut before its usage books its worst case (null)', () => {
    const prepared = adapter.prepare(call('/v1/chat/completions', { model: 'o4-mini', stream: true }));
    expect(cutRun(prepared, [sse({ choices: [{ delta: { content: 'hi' } }] })])).toBeNull();
  });

  it('reserves the worst case of each image, file and web search on top of the tokens, and names them for allowed_inputs', () => {
    const body = {
      model: 'gpt-4o-mini',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://e.com/a.png' } }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }, { type: 'file', file: { file_id: 'f' } }] }],
      web_search_options: {},
    };
    const c = call('/v1/chat/completions', body);
    const prepared = adapter.prepare(c);
    expect(prepared.inputs).toEqual({ images: 2, files: 1, serverToolUses: 1 });
    // $0.01 × 2 + $0.50 + $0.05
    expect(prepared.costNanos).toBe(prices.tokenCost(mini, c.body.length, 10) + 20_000_000n + 500_000_000n + 50_000_000n);
  });
});

describe('deltaTextBytes', () => {
  it("counts what parsing the whole event would: every choice's delta, whatever its text holds", () => {
    const delta = fc.record(
      { role: fc.constant('assistant'), content: fc.string({ unit: 'binary' }), refusal: fc.option(fc.string()), tool_calls: fc.array(fc.record({ index: fc.nat(3), id: fc.string(), function: fc.record({ name: fc.string(), arguments: fc.string({ unit: 'binary' }) }) }), { maxLength: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(delta, { maxLength: 3 }), fc.boolean(), (deltas, spaced) => {
        const doc = { id: 'c', object: 'chat.completion.chunk', choices: deltas.map((d, index) => ({ index, delta: d, finish_reason: null })) };
        const json = spaced ? JSON.stringify(doc, null, 1).replace(/\n/g, ' ') : JSON.stringify(doc);
        return deltaTextBytes(`data: ${json}\n\n`) === deltas.reduce((n, d) => n + generatedTextBytes(d), 0);
      }),
      { numRuns: 500 },
    );
  });

  it('counts nothing of a delta cut in its middle, nor of text that only looks like a delta', () => {
    expect(deltaTextBytes('data: {"choices":[{"delta":{"content":"par')).toBe(0);
    expect(deltaTextBytes('data: {"choices":[{"delta":{"content":"say \\"delta\\":{\\"content\\":\\"x\\"}"}}]}\n\n')).toBe(Buffer.byteLength('say "delta":{"content":"x"}'));
  });
});
