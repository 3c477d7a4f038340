import { describe, expect, it } from 'vitest';
import { PriceBook } from '@keyvault/policy';
import { OpenAiCompatibleAdapter, upstreamPath } from './openai-compatible.adapter';
import type { VendorCall } from './vendor-adapter';

const prices = PriceBook.load();
const adapter = new OpenAiCompatibleAdapter(prices);
const call = (path: string, body: unknown, baseUrl: string, method = 'POST'): VendorCall => ({
  method,
  path,
  query: '',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(body)),
  credential: { vendor: 'openai_compatible', baseUrl },
});

describe('OpenAiCompatibleAdapter', () => {
  it.each([
    ['https://api.groq.com/openai/v1', '/v1/chat/completions', '/chat/completions'],
    ['https://api.together.xyz/v1', '/v1/chat/completions', '/chat/completions'],
    ['https://generativelanguage.googleapis.com/v1beta/openai', '/v1/chat/completions', '/chat/completions'],
    ['http://127.0.0.1:8000/v1', '/v1/models', '/models'],
    ['http://127.0.0.1:8000/v1', '/v1', '/'],
    ['http://127.0.0.1:8000', '/v1/chat/completions', '/v1/chat/completions'],
    ['http://127.0.0.1:8000/', '/v1/embeddings', '/v1/embeddings'],
    ['https://gateway.example.com/llm/v1', '/v1/chat/completions', '/chat/completions'],
    ['https://api.groq.com/openai/v1', '/v1beta/x', '/v1beta/x'],
  ])('joins the call onto the base_url %s: %s → %s', (baseUrl, path, sent) => {
    expect(upstreamPath(baseUrl, path)).toBe(sent);
  });

  it('prices with the openai_compatible list and keeps the OpenAI meter', () => {
    expect(adapter.vendor).toBe('openai_compatible');
    const c = call('/v1/chat/completions', { model: 'llama-3.1-8b-instant', max_tokens: 100, messages: [] }, 'https://api.groq.com/openai/v1');
    const prepared = adapter.prepare(c);
    expect(prepared.path).toBe('/chat/completions');
    expect(prepared.costNanos).toBe(prices.tokenCost(prices.model('openai_compatible', 'llama-3.1-8b-instant')!, c.body.length, 100));
    const meter = prepared.meter!({ status: 200, headers: {} });
    meter.transform(Buffer.from(JSON.stringify({ usage: { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 } })));
    expect(meter.finish().costNanos).toBe(130_000_000n); // $0.05 + $0.08
    expect(adapter.prepare(call('/v1/models', {}, 'http://127.0.0.1:8000/v1', 'GET'))).toEqual({ costNanos: 0n, path: '/models' });
  });

  it("refuses OpenAI's own models and unknown ones as unpriced", () => {
    for (const model of ['gpt-4o', 'mixtral-unknown']) {
      expect(() => adapter.prepare(call('/v1/chat/completions', { model }, 'http://127.0.0.1:8000/v1'))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: 'model' }));
    }
  });
});

describe('OpenAI-compatible inputs the body does not bound', () => {
  it('refuses images as unpriced: the shipped price list gives them no worst case for these vendors', () => {
    const body = { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://e.com/a.png' } }] }] };
    expect(() => adapter.prepare(call('/v1/chat/completions', body, 'http://127.0.0.1:8000'))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: 'messages' }));
  });
});
