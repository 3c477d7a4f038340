import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import { cutStreamCost, cutStreamOutputTokens, generatedTextBytes, type ModelPrice, type PriceBook, type StreamCut, type TokenCounts } from '@keyvault/policy';
import { count, JsonBodyMeter, jsonObject } from './json-body';
import { eventData, SseEvents } from './sse';
import {
  fixedCost,
  isSuccess,
  type CallTokens,
  type OutgoingHeaders,
  type PreparedCall,
  type ResponseMeter,
  type UpstreamResponseHead,
  type VendorAdapter,
  type VendorCall,
} from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';
import { pricedInputs } from './unbounded-inputs';

/**
 * Anthropic: the real key goes as `x-api-key`; the client's `anthropic-version` and
 * `anthropic-beta` headers pass through (the vault key's carriers, `authorization` included,
 * never do). `POST /v1/messages` is metered by tokens; token counting and model lists are free;
 * anything else (batches, the legacy completions API) is refused as unpriced.
 *
 * The worst case reserved before a message: every body byte an input token (a token is at least
 * one byte of its text) — at the dearest prompt-cache write rate when the request marks anything
 * `cache_control` — plus `max_tokens` (the API requires it; the model's own limit when absent)
 * at the output price. The call then settles to `usage`: input, output, cache writes (5-minute
 * and 1-hour) and cache reads, from the JSON answer or from the stream's `message_start` and
 * `message_delta` events (whose counts are cumulative), without altering the stream, plus the
 * fees of the server tools it reports (`server_tool_use.web_search_requests`).
 * Inputs the body's bytes do not bound (images, documents, server tools) add the price list's
 * worst case each (unbounded-inputs.ts); a server tool that could run without end must set
 * `max_uses`. A stream cut short before its final usage (Stop, idle upstream) is booked by
 * `cutStreamCost`: the input `message_start` reported, the server tools' worst case, and the
 * streamed text's bytes as output tokens.
 */
export class AnthropicAdapter implements VendorAdapter {
  readonly vendor = 'anthropic' as const;
  readonly headers: HeaderAllowlist = {
    // not anthropic-beta (unless a key allows it): betas turn on priced features
    up: [...COMMON_UP, 'anthropic-version', 'idempotency-key', 'x-stainless-*'],
    // not anthropic-organization-id: it names the real key's owner
    down: [...COMMON_DOWN, 'request-id', 'anthropic-ratelimit-*', 'retry-after-ms', 'x-should-retry'],
  };

  constructor(private readonly prices: PriceBook) {}

  authorize(headers: OutgoingHeaders, key: Secret): void {
    headers['x-api-key'] = key.reveal();
  }

  /** 402 is Anthropic's billing_error (the key's organisation cannot pay): another key may belong to one that can. */
  keyRefused(response: UpstreamResponseHead): boolean {
    return [401, 402, 403, 429].includes(response.status);
  }

  prepare(call: VendorCall): PreparedCall {
    if (this.prices.isFree('anthropic', call.method, call.path)) return { costNanos: 0n };
    if (call.method === 'POST' && call.path === '/v1/messages') return this.message(call);
    throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} is not in the price list, so it cannot be metered.`);
  }

  private message(call: VendorCall): PreparedCall {
    const request = jsonObject(call.body);
    const price = this.modelPrice(request.model);
    const output = count(request.max_tokens) ?? price.maxOutputTokens;
    const bytes = call.body.length;
    let promptNanos = this.prices.tokensCost(price, { input: bytes, output: 0 });
    if (marksCacheControl(call.body, request)) {
      for (const write of [{ cacheWrite: bytes }, { cacheWrite1h: bytes }]) {
        const withWrites = this.prices.tokensCost(price, { input: 0, output: 0, ...write });
        if (withWrites > promptNanos) promptNanos = withWrites;
      }
    }
    const extra = pricedInputs(this.prices, 'anthropic', 'anthropic_messages', request);
    const costNanos = promptNanos + extra.promptNanos + extra.serverToolNanos + this.prices.tokensCost(price, { input: 0, output });
    const tokens: CallTokens = { worst: bytes + output, actual: null };
    const settle = (usage: unknown) => this.usageCost(price, usage, tokens);
    const model = request.model as string;
    if (request.stream === true) {
      const thinking = request.thinking as { type?: unknown } | undefined;
      const cut = (usage: Record<string, unknown>, streamedBytes: number) => {
        const reported = usageTokens(usage);
        const stream: StreamCut = {
          price,
          reportedInput: reported,
          worstPromptNanos: promptNanos,
          worstPromptInputsNanos: extra.promptNanos,
          serverToolNanos: extra.serverToolNanos,
          reportedOutputTokens: count(usage.output_tokens) ?? 0,
          streamedBytes,
          maxOutputTokens: output,
          // extended thinking is billed in full and streamed summarised (Claude 4), or not at all when redacted
          hiddenReasoning: typeof thinking === 'object' && thinking !== null && thinking.type !== 'disabled',
        };
        const cost = cutStreamCost(stream);
        // max_tokens_per_minute counts the cut call as booked: the input reported (else the prompt's worst case) and the output counted
        if (cost !== null) {
          const input = reported ? reported.input + (reported.cacheWrite ?? 0) + (reported.cacheWrite1h ?? 0) + (reported.cacheRead ?? 0) : bytes;
          tokens.actual = input + cutStreamOutputTokens(stream);
        }
        return cost;
      };
      return { costNanos, model, tokens, inputs: extra.inputs, meter: (res) => (isSuccess(res.status) ? new MessageStreamMeter(settle, cut) : fixedCost(0n)) };
    }
    return { costNanos, model, tokens, inputs: extra.inputs, meter: (res) => (isSuccess(res.status) ? new JsonBodyMeter((doc) => settle(doc.usage)) : fixedCost(0n)) };
  }

  private modelPrice(model: unknown): ModelPrice {
    if (typeof model !== 'string' || model === '') throw new KeyvaultError('unpriced_request', 'A model is required to price this call.', 'model');
    const price = this.prices.model('anthropic', model);
    if (!price) throw new KeyvaultError('unpriced_request', `Model '${model}' is not in the price list.`, 'model');
    return price;
  }

  /** A Messages `usage` object → nano-dollars (server tools' fees included), or null when it is missing or malformed. */
  private usageCost(price: ModelPrice, usage: unknown, tokens?: CallTokens): bigint | null {
    if (typeof usage !== 'object' || usage === null) return null;
    const t = usageTokens(usage as Record<string, unknown>);
    if (t === null) return null;
    const output = count((usage as Record<string, unknown>).output_tokens) ?? 0;
    if (tokens) tokens.actual = t.input + output + (t.cacheWrite ?? 0) + (t.cacheWrite1h ?? 0) + (t.cacheRead ?? 0);
    return this.prices.tokensCost(price, { ...t, output }) + this.serverToolFees((usage as Record<string, unknown>).server_tool_use);
  }

  /** `server_tool_use: {web_search_requests: n}` → n × the price list's fee per request. */
  private serverToolFees(used: unknown): bigint {
    if (typeof used !== 'object' || used === null) return 0n;
    let fees = 0n;
    for (const [name, fee] of this.prices.unboundedInputs('anthropic').serverToolUsageNanos) {
      fees += BigInt(count((used as Record<string, unknown>)[name]) ?? 0) * fee;
    }
    return fees;
  }
}

/** The input side of a Messages `usage` object (cache writes split by lifetime), or null without `input_tokens`. */
function usageTokens(u: Record<string, unknown>): Omit<TokenCounts, 'output'> | null {
  const input = count(u.input_tokens);
  if (input === undefined) return null;
  const cacheWrites = count(u.cache_creation_input_tokens) ?? 0;
  // newer answers split cache writes by lifetime; the 1-hour ones cost more
  const split = typeof u.cache_creation === 'object' && u.cache_creation !== null ? (u.cache_creation as Record<string, unknown>) : {};
  const cacheWrite1h = Math.min(count(split.ephemeral_1h_input_tokens) ?? 0, cacheWrites);
  return { input, cacheWrite: cacheWrites - cacheWrite1h, cacheWrite1h, cacheRead: count(u.cache_read_input_tokens) ?? 0 };
}

/**
 * Follows a Messages SSE stream without changing a byte: `message_start` carries the input
 * side of `usage`, each `message_delta` the cumulative counts so far (output tokens, and in
 * newer API versions the input side again). The cost is known once a `message_delta` arrived;
 * a stream without one is charged its reservation, unless the proxy cut it (`finish(true)`):
 * then `cut` prices the usage reported so far and the bytes of text the content blocks carried.
 */
export class MessageStreamMeter implements ResponseMeter {
  readonly rewrites = false;
  private readonly events = new SseEvents();
  private usage: Record<string, unknown> = {};
  private final = false;
  private streamedBytes = 0;

  constructor(
    private readonly settle: (usage: unknown) => bigint | null,
    private readonly cut: (usage: Record<string, unknown>, streamedBytes: number) => bigint | null = () => null,
  ) {}

  transform(chunk: Buffer): Buffer {
    for (const event of this.events.push(chunk)) this.read(event);
    return chunk;
  }

  finish(cut = false): { costNanos: bigint | null } {
    this.read(this.events.rest());
    if (this.final) return { costNanos: this.settle(this.usage) };
    return { costNanos: cut ? this.cut(this.usage, this.streamedBytes) : null };
  }

  private read(event: string): void {
    const data = eventData(event) as { type?: unknown; message?: { usage?: unknown }; usage?: unknown; delta?: unknown; content_block?: { type?: unknown } } | undefined;
    switch (data?.type) {
      case 'message_start':
        return this.merge(data.message?.usage);
      case 'message_delta':
        this.merge(data.usage);
        this.final = true;
        return;
      case 'content_block_delta':
        this.streamedBytes += generatedTextBytes(data.delta);
        return;
      case 'content_block_start': {
        // a server tool's results are input (priced within the server tools' worst case), not generated text
        const type = data.content_block?.type;
        if (!(typeof type === 'string' && type.endsWith('_tool_result'))) this.streamedBytes += generatedTextBytes(data.content_block);
        return;
      }
    }
  }

  /** Later counts replace earlier ones; a null count (not reported in this event) does not. */
  private merge(usage: unknown): void {
    if (typeof usage !== 'object' || usage === null) return;
    for (const [k, v] of Object.entries(usage)) if (v !== null && v !== undefined) this.usage[k] = v;
  }
}

/**
 * Whether any object of the request has a `cache_control` key. The raw bytes rule most bodies
 * out at once: the key can only be spelled without its plain letters through `\u` escapes.
 * The walk is iterative, since a body may nest deeply.
 */
function marksCacheControl(body: Buffer, request: Record<string, unknown>): boolean {
  if (!body.includes('cache_control') && !body.includes('\\u')) return false;
  const stack: unknown[] = [request];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (!Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, 'cache_control')) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return false;
}
