import type { PriceBook } from '@keyvault/policy';
import { OpenAiAdapter } from './openai.adapter';
import type { PreparedCall, VendorCall } from './vendor-adapter';

/**
 * OpenAI-compatible APIs (Groq, Together, vLLM, Ollama...): OpenAI's adapter with the
 * `openai_compatible` price list, sent to the profile's `base_url`.
 *
 * Clients always call OpenAI's layout, `/openai_compatible/v1/...` (the OpenAI SDK's `baseURL`
 * is `{proxy}/openai_compatible/v1`), and the allowlist and prices match that `/v1/...` path.
 * Upstream, the rule is the OpenAI SDK's own: a `base_url` with a path is the API root you would
 * give the SDK, version included (`https://api.groq.com/openai/v1`, `https://api.together.xyz/v1`,
 * `https://generativelanguage.googleapis.com/v1beta/openai`), and the call's path after `/v1` is
 * joined onto it; a bare origin (`http://vllm:8000`) is taken as serving OpenAI's layout, `/v1`
 * kept. So `/v1/chat/completions` goes to `https://api.groq.com/openai/v1/chat/completions` and
 * to `http://vllm:8000/v1/chat/completions`, never to a doubled `/v1/v1`.
 */
export class OpenAiCompatibleAdapter extends OpenAiAdapter {
  override readonly vendor = 'openai_compatible' as const;

  constructor(prices: PriceBook) {
    super(prices, 'openai_compatible');
  }

  override prepare(call: VendorCall): PreparedCall {
    return { ...super.prepare(call), path: upstreamPath(call.credential.baseUrl, call.path) };
  }
}

/** The path to send below the base_url's own path (see the class comment). */
export function upstreamPath(baseUrl: string | null, path: string): string {
  if (baseUrl === null || new URL(baseUrl).pathname.replace(/\/+$/, '') === '') return path;
  if (path === '/v1') return '/';
  return path.startsWith('/v1/') ? path.slice(3) : path;
}
