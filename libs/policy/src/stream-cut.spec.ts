import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceBook } from './price-book';
import { cutStreamCost, generatedTextBytes, streamWorstCost, type StreamCut } from './stream-cut';

const book = PriceBook.load();
const mini = book.model('openai', 'gpt-4o-mini')!; // 150 / 600 n$ a token
const sonnet = book.model('anthropic', 'claude-sonnet-4-5')!; // 3,000 / 15,000 n$; cache 3,750 / 6,000 / 300

const base: StreamCut = {
  price: mini,
  reportedInput: null,
  worstPromptNanos: 150n * 100n,
  worstPromptInputsNanos: 0n,
  serverToolNanos: 0n,
  reportedOutputTokens: 0,
  streamedBytes: 0,
  maxOutputTokens: 16,
  hiddenReasoning: false,
};

describe('cutStreamCost', () => {
  it("books the prompt's worst case plus the streamed bytes as output tokens, exactly", () => {
    expect(cutStreamCost({ ...base, streamedBytes: 4 })).toBe(15_000n + 4n * 600n);
    expect(streamWorstCost(base)).toBe(15_000n + 16n * 600n);
  });

  it('never books more output than the output limit, nor less than the vendor reported', () => {
    expect(cutStreamCost({ ...base, streamedBytes: 1_000 })).toBe(15_000n + 16n * 600n);
    expect(cutStreamCost({ ...base, reportedOutputTokens: 9, streamedBytes: 4 })).toBe(15_000n + 9n * 600n);
  });

  it("uses the input side the vendor reported (Anthropic's message_start) at each rate, instead of the prompt's worst case", () => {
    const cut: StreamCut = { ...base, price: sonnet, reportedInput: { input: 25, cacheWrite: 10, cacheWrite1h: 2, cacheRead: 100 }, worstPromptInputsNanos: 30_000_000n, serverToolNanos: 250_000_000n, streamedBytes: 4 };
    expect(cutStreamCost(cut)).toBe(25n * 3_000n + 10n * 3_750n + 2n * 6_000n + 100n * 300n + 250_000_000n + 4n * 15_000n);
  });

  it('books the worst case (null) when reasoning is billed but not streamed', () => {
    expect(cutStreamCost({ ...base, hiddenReasoning: true, streamedBytes: 4 })).toBeNull();
  });

  const cuts = fc.record({
    price: fc.constantFrom(mini, sonnet, book.model('openai', 'gpt-4o')!, book.model('anthropic', 'claude-opus-4-1')!),
    worstPromptNanos: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    worstPromptInputsNanos: fc.bigInt({ min: 0n, max: 10n ** 10n }),
    serverToolNanos: fc.bigInt({ min: 0n, max: 10n ** 10n }),
    reportedOutputTokens: fc.nat(200_000),
    streamedBytes: fc.nat(1_000_000),
    maxOutputTokens: fc.nat(128_000),
  });

  it('without a reported input, never books more than the worst case reserved, and is that formula to the nano-dollar', () => {
    fc.assert(
      fc.property(cuts, (c) => {
        const cut: StreamCut = { ...c, reportedInput: null, hiddenReasoning: false };
        const cost = cutStreamCost(cut)!;
        const output = BigInt(Math.min(Math.max(c.reportedOutputTokens, c.streamedBytes), c.maxOutputTokens));
        return cost <= streamWorstCost(cut) && cost === c.worstPromptNanos + c.worstPromptInputsNanos + c.serverToolNanos + output * c.price.outputNanosPerToken;
      }),
      { numRuns: 1_000 },
    );
  });

  it('grows with what was streamed, by the output price per byte until the output limit', () => {
    fc.assert(
      fc.property(cuts, fc.nat(10_000), (c, more) => {
        const cut: StreamCut = { ...c, reportedInput: null, hiddenReasoning: false };
        const a = cutStreamCost(cut)!;
        const b = cutStreamCost({ ...cut, streamedBytes: c.streamedBytes + more })!;
        return b >= a && b - a <= BigInt(more) * c.price.outputNanosPerToken;
      }),
      { numRuns: 500 },
    );
  });
});

describe('generatedTextBytes', () => {
  it('counts the UTF-8 bytes of generated text, not roles, ids, types or indexes', () => {
    expect(generatedTextBytes({ role: 'assistant', content: 'me' })).toBe(2);
    expect(generatedTextBytes({ content: 'é€😀' })).toBe(2 + 3 + 4);
    expect(generatedTextBytes({ tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }] })).toBe(3 + 7);
    expect(generatedTextBytes({ type: 'text_delta', text: 'ow' })).toBe(2);
    expect(generatedTextBytes({ type: 'input_json_delta', partial_json: '{"q":' })).toBe(5);
    expect(generatedTextBytes({ type: 'signature_delta', signature: 'EqQBCgIYAhIM' })).toBe(0);
    expect(generatedTextBytes(undefined)).toBe(0);
    expect(generatedTextBytes({ content: null, refusal: null })).toBe(0);
  });
});
