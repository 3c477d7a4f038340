import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import type { ModelPrice, PriceBook } from '@keyvault/policy';
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
 * `message_delta` events (whose counts are cumulative), without altering the stream.
 * Inputs the body only points at (image or document URLs, files, server tools' results) are not
 * bounded by its bytes: what they cost beyond the reservation is not counted.
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
    let costNanos = this.prices.tokensCost(price, { input: bytes, output });
    if (marksCacheControl(call.body, request)) {
      for (const write of [{ cacheWrite: bytes }, { cacheWrite1h: bytes }]) {
        const withWrites = this.prices.tokensCost(price, { input: 0, output, ...write });
        if (withWrites > costNanos) costNanos = withWrites;
      }
    }
    const tokens: CallTokens = { worst: bytes + output, actual: null };
    const settle = (usage: unknown) => this.usageCost(price, usage, tokens);
    if (request.stream === true) {
      return { costNanos, model: request.model as string, tokens, meter: (res) => (isSuccess(res.status) ? new MessageStreamMeter(settle) : fixedCost(0n)) };
    }
    return { costNanos, model: request.model as string, tokens, meter: (res) => (isSuccess(res.status) ? new JsonBodyMeter((doc) => settle(doc.usage)) : fixedCost(0n)) };
  }

  private modelPrice(model: unknown): ModelPrice {
    if (typeof model !== 'string' || model === '') throw new KeyvaultError('unpriced_request', 'A model is required to price this call.', 'model');
    const price = this.prices.model('anthropic', model);
    if (!price) throw new KeyvaultError('unpriced_request', `Model '${model}' is not in the price list.`, 'model');
    return price;
  }

  /** A Messages `usage` object → nano-dollars, or null when it is missing or malformed. */
  private usageCost(price: ModelPrice, usage: unknown, tokens?: CallTokens): bigint | null {
    if (typeof usage !== 'object' || usage === null) return null;
    const u = usage as Record<string, unknown>;
    const input = count(u.input_tokens);
    if (input === undefined) return null;
    const cacheWrites = count(u.cache_creation_input_tokens) ?? 0;
    // newer answers split cache writes by lifetime; the 1-hour ones cost more
    const split = typeof u.cache_creation === 'object' && u.cache_creation !== null ? (u.cache_creation as Record<string, unknown>) : {};
    const cacheWrite1h = Math.min(count(split.ephemeral_1h_input_tokens) ?? 0, cacheWrites);
    const output = count(u.output_tokens) ?? 0;
    const cacheRead = count(u.cache_read_input_tokens) ?? 0;
    if (tokens) tokens.actual = input + output + cacheWrites + cacheRead;
    return this.prices.tokensCost(price, {
      input,
      output,
      cacheWrite: cacheWrites - cacheWrite1h,
      cacheWrite1h,
      cacheRead,
    });
  }
}

/** Only these events carry usage; the rest are not parsed. */
const USAGE_EVENT = /"type"\s*:\s*"message_(start|delta)"/;

/**
 * Follows a Messages SSE stream without changing a byte: `message_start` carries the input
 * side of `usage`, each `message_delta` the cumulative counts so far (output tokens, and in
 * newer API versions the input side again). The cost is known once a `message_delta` arrived;
 * a stream without one (cut short, or an `error` event) is charged its reservation.
 */
export class MessageStreamMeter implements ResponseMeter {
  readonly rewrites = false;
  private readonly events = new SseEvents();
  private usage: Record<string, unknown> = {};
  private final = false;

  constructor(private readonly settle: (usage: unknown) => bigint | null) {}

  transform(chunk: Buffer): Buffer {
    for (const event of this.events.push(chunk)) this.read(event);
    return chunk;
  }

  finish(): { costNanos: bigint | null } {
    this.read(this.events.rest());
    return { costNanos: this.final ? this.settle(this.usage) : null };
  }

  private read(event: string): void {
    if (!USAGE_EVENT.test(event)) return;
    const data = eventData(event) as { type?: unknown; message?: { usage?: unknown }; usage?: unknown } | undefined;
    if (data?.type === 'message_start') this.merge(data.message?.usage);
    else if (data?.type === 'message_delta') {
      this.merge(data.usage);
      this.final = true;
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
