import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceBook } from './price-book';
import { countUnboundedInputs, inputKindsUsed, refusedInputKind, unboundedInputsCost, UnboundedServerTool, type UnboundedInputPrices } from './unbounded-inputs';

const book = PriceBook.load();
const openaiTools = book.unboundedInputs('openai').serverTools;
const anthropicTools = book.unboundedInputs('anthropic').serverTools;

describe('countUnboundedInputs', () => {
  it('counts OpenAI image and file parts, inline or by reference, and web_search_options as one server-tool use', () => {
    const request = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in these?' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'file', file: { file_id: 'file-abc' } },
          ],
        },
      ],
      web_search_options: {},
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { type: { type: 'string' } } } } }],
    };
    expect(countUnboundedInputs('openai_chat', request, openaiTools)).toEqual({ images: 2, files: 1, serverToolUses: 1 });
  });

  it('counts Anthropic images and documents anywhere in messages and system, but not plain-text documents', () => {
    const request = {
      system: [{ type: 'text', text: 'sys' }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'document', source: { type: 'url', url: 'https://example.com/report.pdf' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'inline text' } },
            { type: 'document', source: { type: 'content', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] },
      ],
    };
    expect(countUnboundedInputs('anthropic_messages', request, anthropicTools)).toEqual({ images: 3, files: 1, serverToolUses: 0 });
  });

  it("counts an Anthropic server tool's max_uses, a single-use tool once, client tools not at all, and refuses one without a bound", () => {
    const tools = [
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      { type: 'code_execution_20250522', name: 'code_execution' },
      { type: 'bash_20250124', name: 'bash' },
      { name: 'lookup', input_schema: { type: 'object' } },
    ];
    expect(countUnboundedInputs('anthropic_messages', { messages: [], tools }, anthropicTools).serverToolUses).toBe(4);
    expect(() => countUnboundedInputs('anthropic_messages', { messages: [], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, anthropicTools)).toThrow(UnboundedServerTool);
    expect(countUnboundedInputs('anthropic_messages', { messages: [], tools: [{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 0 }] }, anthropicTools).serverToolUses).toBe(0);
  });

  it('never throws on any JSON but an unbounded server tool, and answers whole counts', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const request = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { messages: value };
        for (const dialect of ['openai_chat', 'anthropic_messages'] as const) {
          try {
            const c = countUnboundedInputs(dialect, request, dialect === 'openai_chat' ? openaiTools : anthropicTools);
            if (![c.images, c.files, c.serverToolUses].every((n) => Number.isSafeInteger(n) && n >= 0)) return false;
          } catch (err) {
            if (!(err instanceof UnboundedServerTool)) return false;
          }
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('counts exactly the image parts placed in a message, whatever text surrounds them', () => {
    const part = fc.oneof(
      fc.string().map((text) => ({ kind: 'text', node: { type: 'text', text } })),
      fc.webUrl().map((url) => ({ kind: 'image', node: { type: 'image_url', image_url: { url } } })),
      fc.string().map((id) => ({ kind: 'file', node: { type: 'file', file: { file_id: id } } })),
    );
    fc.assert(
      fc.property(fc.array(fc.array(part, { maxLength: 6 }), { maxLength: 5 }), (messages) => {
        const request = { messages: messages.map((parts) => ({ role: 'user', content: parts.map((p) => p.node) })) };
        const all = messages.flat();
        const c = countUnboundedInputs('openai_chat', request, openaiTools);
        return c.images === all.filter((p) => p.kind === 'image').length && c.files === all.filter((p) => p.kind === 'file').length && c.serverToolUses === 0;
      }),
      { numRuns: 300 },
    );
  });
});

describe('unboundedInputsCost', () => {
  const prices: UnboundedInputPrices = { imageNanos: 10_000_000n, fileNanos: 500_000_000n, serverToolUseNanos: 50_000_000n };

  it('is each count times its worst case, exactly, split between the prompt and the server tools', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.nat(1000), (images, files, serverToolUses) => {
        const c = unboundedInputsCost(prices, { images, files, serverToolUses });
        return (
          c.unpriced === undefined &&
          c.promptNanos === BigInt(images) * prices.imageNanos! + BigInt(files) * prices.fileNanos! &&
          c.serverToolNanos === BigInt(serverToolUses) * prices.serverToolUseNanos!
        );
      }),
    );
  });

  it('names a kind that is used but not priced, and lets an unpriced kind pass when it is not used', () => {
    const noImages = { ...prices, imageNanos: null };
    expect(unboundedInputsCost(noImages, { images: 1, files: 0, serverToolUses: 0 }).unpriced).toBe('images');
    expect(unboundedInputsCost(noImages, { images: 0, files: 2, serverToolUses: 0 })).toEqual({ promptNanos: 1_000_000_000n, serverToolNanos: 0n });
    expect(unboundedInputsCost({ ...prices, serverToolUseNanos: null }, { images: 0, files: 0, serverToolUses: 1 }).unpriced).toBe('server_tools');
  });
});

describe('allowed_inputs', () => {
  it('refuses the first kind used that the key does not allow; null allows every kind', () => {
    const used = { images: 1, files: 0, serverToolUses: 2 };
    expect(inputKindsUsed(used)).toEqual(['images', 'server_tools']);
    expect(refusedInputKind(null, used)).toBeUndefined();
    expect(refusedInputKind([], used)).toBe('images');
    expect(refusedInputKind(['images'], used)).toBe('server_tools');
    expect(refusedInputKind(['images', 'server_tools'], used)).toBeUndefined();
    expect(refusedInputKind([], { images: 0, files: 0, serverToolUses: 0 })).toBeUndefined();
  });
});

describe('the shipped price list', () => {
  it('gives OpenAI and Anthropic a worst case for images, files and server tools, and none to OpenAI-compatible vendors', () => {
    expect(book.unboundedInputs('openai').prices).toEqual({ imageNanos: 10_000_000n, fileNanos: 500_000_000n, serverToolUseNanos: 50_000_000n });
    expect(book.unboundedInputs('anthropic').prices).toEqual({ imageNanos: 30_000_000n, fileNanos: 3_000_000_000n, serverToolUseNanos: 250_000_000n });
    expect(book.unboundedInputs('anthropic').serverToolUsageNanos.get('web_search_requests')).toBe(10_000_000n);
    expect(book.unboundedInputs('openai_compatible').prices).toEqual({ imageNanos: null, fileNanos: null, serverToolUseNanos: null });
  });

  it('marks the models whose reasoning is billed but not streamed', () => {
    expect(book.model('openai', 'o3-mini')!.hiddenReasoning).toBe(true);
    expect(book.model('openai', 'gpt-5-mini')!.hiddenReasoning).toBe(true);
    expect(book.model('openai', 'gpt-4o-mini')!.hiddenReasoning).toBe(false);
    expect(book.model('anthropic', 'claude-sonnet-4-5')!.hiddenReasoning).toBe(false);
  });
});
