import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import { cutStreamCost, cutStreamOutputTokens, generatedTextBytes, type LlmVendor, type ModelPrice, type PriceBook, type StreamCut } from '@keyvault/policy';
import { count, JsonBodyMeter, jsonObject } from './json-body';
import { eventData, SseEvents } from './sse';
import { fixedCost, isSuccess, type CallTokens, type OutgoingHeaders, type PreparedCall, type ResponseMeter, type VendorAdapter, type VendorCall } from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';
import { pricedInputs } from './unbounded-inputs';

/** OpenAI allows at most 128 choices per call. */
const MAX_CHOICES = 128;

/**
 * OpenAI: Bearer key. Chat completions and embeddings are metered by tokens; free endpoints
 * (model lists) pass at no cost; anything else is refused as unpriced rather than let through
 * unmetered. The worst case reserved before a chat call: every body byte an input token (a
 * token is at least one byte) plus the output limit (`max_completion_tokens`, `max_tokens`, or
 * the model's own) times `n`, at the model's prices, plus the price list's worst case per image,
 * file and server-tool use the body carries (unbounded-inputs.ts); the call then settles to
 * `usage`. A stream cut short before its usage (Stop, idle upstream) is booked by
 * `cutStreamCost`: the prompt's worst case plus the streamed text's bytes as output tokens.
 * `priceList` lets OpenAI-compatible vendors reuse this adapter with their own models.
 */
export class OpenAiAdapter implements VendorAdapter {
  readonly vendor: 'openai' | 'openai_compatible' = 'openai';
  readonly headers: HeaderAllowlist = {
    // not openai-organization / openai-project: they choose which organization the real key bills
    up: [...COMMON_UP, 'openai-beta', 'idempotency-key', 'x-stainless-*'],
    // not openai-organization: it names the real key's owner
    down: [...COMMON_DOWN, 'x-request-id', 'openai-processing-ms', 'openai-version', 'x-ratelimit-*', 'retry-after-ms', 'x-should-retry'],
  };

  constructor(
    protected readonly prices: PriceBook,
    protected readonly priceList: LlmVendor = 'openai',
  ) {}

  authorize(headers: OutgoingHeaders, key: Secret): void {
    headers.authorization = `Bearer ${key.reveal()}`;
  }

  prepare(call: VendorCall): PreparedCall {
    if (this.prices.isFree(this.priceList, call.method, call.path)) return { costNanos: 0n };
    if (call.method === 'POST' && call.path === '/v1/chat/completions') return this.chatCompletion(call);
    if (call.method === 'POST' && call.path === '/v1/embeddings') return this.embedding(call);
    throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} is not in the price list, so it cannot be metered.`);
  }

  protected chatCompletion(call: VendorCall): PreparedCall {
    const request = jsonObject(call.body);
    const price = this.modelPrice(request.model);
    const requested = count(request.max_completion_tokens) ?? count(request.max_tokens);
    const maxOutput = requested === undefined ? price.maxOutputTokens : Math.min(requested, price.maxOutputTokens || requested);
    const choices = Math.min(Math.max(count(request.n) ?? 1, 1), MAX_CHOICES);
    const outputTokens = maxOutput * choices;
    const extra = pricedInputs(this.prices, this.priceList, 'openai_chat', request);
    const promptNanos = this.prices.tokenCost(price, call.body.length, 0);
    const costNanos = promptNanos + extra.promptNanos + extra.serverToolNanos + this.prices.tokenCost(price, 0, outputTokens);
    const tokens: CallTokens = { worst: call.body.length + outputTokens, actual: null };
    const settle = (usage: unknown) => this.usageCost(price, usage, tokens);

    if (request.stream !== true) {
      return { costNanos, model: price.requested, tokens, inputs: extra.inputs, meter: (res) => (isSuccess(res.status) ? new JsonBodyMeter((doc) => settle(doc.usage)) : fixedCost(0n)) };
    }
    const cut = (streamedBytes: number) => {
      const stream: StreamCut = {
        price,
        reportedInput: null,
        worstPromptNanos: promptNanos,
        worstPromptInputsNanos: extra.promptNanos,
        serverToolNanos: extra.serverToolNanos,
        reportedOutputTokens: 0,
        streamedBytes,
        maxOutputTokens: outputTokens,
        hiddenReasoning: price.hiddenReasoning,
      };
      const cost = cutStreamCost(stream);
      // max_tokens_per_minute counts the cut call as booked: its prompt's worst case and the output counted
      if (cost !== null) tokens.actual = call.body.length + cutStreamOutputTokens(stream);
      return cost;
    };
    // Streams report usage only when asked: ask upstream always, and hide the usage chunk
    // from a client that did not ask for it.
    const options = (typeof request.stream_options === 'object' && request.stream_options) || {};
    const clientAsked = (options as { include_usage?: unknown }).include_usage === true;
    const body = clientAsked ? undefined : Buffer.from(JSON.stringify({ ...request, stream_options: { ...options, include_usage: true } }));
    return {
      costNanos,
      model: price.requested,
      tokens,
      body,
      inputs: extra.inputs,
      meter: (res) => (isSuccess(res.status) ? new ChatStreamMeter(!clientAsked, settle, cut) : fixedCost(0n)),
    };
  }

  protected embedding(call: VendorCall): PreparedCall {
    const request = jsonObject(call.body);
    const price = this.modelPrice(request.model);
    // Inputs are text or token ids; either way a token takes at least one byte of the body.
    const costNanos = this.prices.tokenCost(price, call.body.length, 0);
    const tokens: CallTokens = { worst: call.body.length, actual: null };
    return { costNanos, model: price.requested, tokens, meter: (res) => (isSuccess(res.status) ? new JsonBodyMeter((doc) => this.usageCost(price, doc.usage, tokens)) : fixedCost(0n)) };
  }

  /** The price of the body's model, with the model as the body names it (`requested`). */
  protected modelPrice(model: unknown): ModelPrice & { requested: string } {
    if (typeof model !== 'string' || model === '') throw new KeyvaultError('unpriced_request', 'A model is required to price this call.', 'model');
    const price = this.prices.model(this.priceList, model);
    if (!price) throw new KeyvaultError('unpriced_request', `Model '${model}' is not in the price list.`, 'model');
    return { ...price, requested: model };
  }

  /** `usage` → nano-dollars, or null when it is missing or malformed; the token count goes to `tokens`. */
  protected usageCost(price: ModelPrice, usage: unknown, tokens?: CallTokens): bigint | null {
    if (typeof usage !== 'object' || usage === null) return null;
    const u = usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
    const input = count(u.prompt_tokens);
    if (input === undefined) return null;
    const output = count(u.completion_tokens) ?? 0;
    if (tokens) tokens.actual = input + output;
    return this.prices.tokenCost(price, input, output);
  }
}

/** Only events that may carry a usage object are parsed whole; in the rest only the deltas are. */
const MAY_CARRY_USAGE = /"usage"\s*:\s*\{/;
const DELTA_KEY = '"delta":';

/**
 * The generated text bytes of every `"delta": {...}` object in an event (generatedTextBytes of
 * each), found by scanning for its balanced braces outside strings; a delta the event does not
 * hold whole (cut in its middle) counts 0, as an event that is not JSON does. In JSON text the
 * key `"delta":` can only appear unescaped as a key: inside a string its quotes are escaped.
 */
export function deltaTextBytes(event: string): number {
  let bytes = 0;
  for (let at = event.indexOf(DELTA_KEY); at >= 0; at = event.indexOf(DELTA_KEY, at + DELTA_KEY.length)) {
    let start = at + DELTA_KEY.length;
    while (event.charCodeAt(start) === 32) start++;
    if (event[start] !== '{') continue;
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let i = start; i < event.length; i++) {
      const c = event.charCodeAt(i);
      if (inString) {
        if (c === 92) i++; // backslash: skip the escaped character
        else if (c === 34) inString = false;
      } else if (c === 34) inString = true;
      else if (c === 123) depth++;
      else if (c === 125 && --depth === 0) {
        end = i + 1;
        break;
      }
    }
    if (end < 0) continue;
    try {
      bytes += generatedTextBytes(JSON.parse(event.slice(start, end)));
    } catch {
      // not JSON: not counted
    }
    at = end - DELTA_KEY.length;
  }
  return bytes;
}

/**
 * Follows a chat-completion SSE stream and reads `usage` from the final usage-only chunk
 * (`choices: []`). With `hideUsage`, that chunk is dropped from what the client receives;
 * every other event is passed on as soon as it is complete. It also counts the bytes of text the
 * choices' deltas carried, which prices a stream cut before its usage (`cut`).
 */
export class ChatStreamMeter implements ResponseMeter {
  private readonly events = new SseEvents();
  private cost: bigint | null = null;
  private streamedBytes = 0;

  constructor(
    private readonly hideUsage: boolean,
    private readonly settle: (usage: unknown) => bigint | null,
    private readonly cut: (streamedBytes: number) => bigint | null = () => null,
  ) {}

  get rewrites(): boolean {
    return this.hideUsage;
  }

  transform(chunk: Buffer): Buffer | string {
    const events = this.events.push(chunk);
    if (!this.hideUsage) {
      for (const e of events) this.read(e);
      return chunk;
    }
    let out = '';
    for (const e of events) if (!this.read(e)) out += e;
    return out;
  }

  finish(cut = false): { tail?: string; costNanos: bigint | null } {
    const rest = this.events.rest();
    if (rest) this.read(rest);
    const costNanos = this.cost ?? (cut ? this.cut(this.streamedBytes) : null);
    return { tail: this.hideUsage ? rest : undefined, costNanos };
  }

  /** Counts an event's generated text and reads its usage; true when the event is the usage-only chunk. */
  private read(event: string): boolean {
    // most events are one token's delta: only the delta objects are parsed (a tenth of the event)
    if (!MAY_CARRY_USAGE.test(event)) {
      this.streamedBytes += deltaTextBytes(event);
      return false;
    }
    const data = eventData(event) as { usage?: unknown; choices?: unknown } | undefined;
    if (!data) return false;
    if (Array.isArray(data.choices)) {
      for (const choice of data.choices) {
        if (typeof choice === 'object' && choice !== null) this.streamedBytes += generatedTextBytes((choice as { delta?: unknown }).delta);
      }
    }
    if (typeof data.usage !== 'object' || data.usage === null) return false;
    this.cost = this.settle(data.usage);
    return Array.isArray(data.choices) && data.choices.length === 0;
  }
}
