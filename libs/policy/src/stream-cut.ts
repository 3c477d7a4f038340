import type { ModelPrice, TokenCounts } from './price-book';

/**
 * What an LLM stream cut short before its `usage` arrived is booked at (a client that pressed
 * Stop, an upstream idle past KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS): the proxy closed the upstream
 * connection, so the vendor stopped generating and bills the prompt and the tokens generated so
 * far. The proxy books, exactly, in integer nano-dollars:
 *
 *   input   the input side the vendor already reported (Anthropic's `message_start`: input,
 *           cache writes and reads, images and documents included), else the reserved worst
 *           case of the prompt (every body byte a token, images and files at their configured
 *           worst case);
 * + tools   the reserved worst case of the server tools, in full (they run while the answer is
 *           generated, and what they cost is only told by the final usage);
 * + output  max(output tokens the vendor reported so far, UTF-8 bytes of the text the stream
 *           carried) at the output price, at most the call's output limit. A token is at least
 *           one byte of its text, so the bytes bound the tokens streamed from above, with room
 *           for the few the vendor generated before it saw the connection close; no tokenizer is
 *           needed, and none would give the vendor's count exactly anyway.
 *
 * A model whose reasoning tokens are billed but not streamed (OpenAI's o-series and GPT-5, an
 * Anthropic request with extended thinking) is booked at its worst case: what it thought is
 * not in the stream. The result never exceeds the call's worst case unless the vendor's own
 * report of the input did (an image costing more than its configured worst case).
 */
export interface StreamCut {
  price: ModelPrice;
  /** the input side as the vendor reported it before the cut, or null (not reported) */
  reportedInput: Omit<TokenCounts, 'output'> | null;
  /** the prompt's reserved worst case without images and files (body bytes as tokens, at the dearest input rate) */
  worstPromptNanos: bigint;
  /** the reserved worst case of the images and files the prompt carries */
  worstPromptInputsNanos: bigint;
  /** the reserved worst case of the server tools */
  serverToolNanos: bigint;
  /** output tokens the vendor reported so far (0 when none) */
  reportedOutputTokens: number;
  /** UTF-8 bytes of generated text the stream carried (content, tool-call arguments, refusals, reasoning shown) */
  streamedBytes: number;
  /** the call's output limit (max_tokens × n, or the model's own) */
  maxOutputTokens: number;
  /** reasoning tokens are billed but not streamed */
  hiddenReasoning: boolean;
}

/** The output tokens a cut stream is booked for: what the vendor reported or the bytes streamed, whichever is more, within the limit. */
export function cutStreamOutputTokens(cut: StreamCut): number {
  return Math.min(Math.max(cut.reportedOutputTokens, cut.streamedBytes), cut.maxOutputTokens);
}

/** The nano-dollars a cut stream is booked at (see StreamCut), or null for its worst case. */
export function cutStreamCost(cut: StreamCut): bigint | null {
  if (cut.hiddenReasoning) return null;
  const input = cut.reportedInput
    ? BigInt(cut.reportedInput.input) * cut.price.inputNanosPerToken +
      BigInt(cut.reportedInput.cacheWrite ?? 0) * cut.price.cacheWriteNanosPerToken +
      BigInt(cut.reportedInput.cacheWrite1h ?? 0) * cut.price.cacheWrite1hNanosPerToken +
      BigInt(cut.reportedInput.cacheRead ?? 0) * cut.price.cacheReadNanosPerToken
    : cut.worstPromptNanos + cut.worstPromptInputsNanos;
  const output = cutStreamOutputTokens(cut);
  return input + cut.serverToolNanos + BigInt(output) * cut.price.outputNanosPerToken;
}

/** The worst case the same call reserved (for comparison: a cut never books more without a vendor report). */
export function streamWorstCost(cut: StreamCut): bigint {
  return cut.worstPromptNanos + cut.worstPromptInputsNanos + cut.serverToolNanos + BigInt(cut.maxOutputTokens) * cut.price.outputNanosPerToken;
}

const NOT_GENERATED = new Set(['role', 'id', 'type', 'index', 'signature', 'tool_use_id']);

/**
 * UTF-8 bytes of the generated text in one streamed fragment (an OpenAI chunk's `delta`, an
 * Anthropic `content_block_delta`'s `delta` or `content_block_start`'s block): every string
 * value at any depth, but for names that carry no generated text (role, ids, types, indexes,
 * thinking signatures).
 */
export function generatedTextBytes(fragment: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [fragment];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') bytes += Buffer.byteLength(node, 'utf8');
    else if (Array.isArray(node)) stack.push(...node);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) if (!NOT_GENERATED.has(k)) stack.push(v);
    }
  }
  return bytes;
}
