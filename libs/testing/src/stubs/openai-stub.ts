import type { ServerResponse } from 'node:http';
import { json, presentedKey, startStubServer, type SeenRequest, type StubServer } from './stub-server';

/** How the stub misbehaves for a key (or for everyone). */
export type OpenAiFailure =
  | { kind: 'status'; status: number; code?: string; retryAfterSeconds?: number }
  /** accepts the request and never answers */
  | { kind: 'hang' }
  /** drops the connection without an answer */
  | { kind: 'reset' };

export interface OpenAiStub extends StubServer {
  /** usage reported by every completion (and the prompt tokens of embeddings) */
  usage: { prompt_tokens: number; completion_tokens: number };
  /** makes calls with this real key (or every call, with '*') fail until cleared */
  fail(key: string, failure: OpenAiFailure): void;
  clearFailures(): void;
  /**
   * Chat completions pause until `release()`: before answering at all ('headers'), or streams
   * after their first chunk ('first-chunk', so a test can prove that chunk reached the client
   * before the upstream finished). null: no pause.
   */
  hold(point: 'headers' | 'first-chunk' | null): void;
  release(): void;
}

/**
 * A loopback stand-in for OpenAI: chat completions (JSON and SSE), embeddings, models. With
 * `basePath` (e.g. '/openai/v1' for a Groq-like OpenAI-compatible API) it serves the same routes
 * below that path instead of below `/v1`, and answers 404 elsewhere.
 */
export async function startOpenAiStub(options: { basePath?: string } = {}): Promise<OpenAiStub> {
  const root = options.basePath ?? '/v1';
  const failures = new Map<string, OpenAiFailure>();
  let hold: 'headers' | 'first-chunk' | null = null;
  let waiting: Array<() => void> = [];
  const stub = {
    usage: { prompt_tokens: 12, completion_tokens: 3 },
  };

  const server = await startStubServer(async (req, res, raw) => {
    const failure = failures.get(presentedKey(req.headers)) ?? failures.get('*');
    if (failure?.kind === 'hang') return;
    if (failure?.kind === 'reset') return void raw.socket.destroy();
    if (failure?.kind === 'status') {
      const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
      const code = failure.code ?? (failure.status === 429 ? 'rate_limit_exceeded' : 'invalid_api_key');
      return json(res, failure.status, { error: { message: `stub: ${code}`, type: code, param: null, code } }, headers);
    }
    const route = req.path.startsWith(`${root}/`) ? req.path.slice(root.length) : null;
    if (req.method === 'GET' && route === '/models') {
      return json(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1700000000, owned_by: 'openai' }] });
    }
    if (req.method === 'POST' && route === '/chat/completions') return chat(req, res);
    if (req.method === 'POST' && route === '/embeddings') {
      return json(res, 200, {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: stub.usage.prompt_tokens, total_tokens: stub.usage.prompt_tokens },
      });
    }
    json(res, 404, { error: { message: `stub: no route ${req.method} ${req.path}`, type: 'invalid_request_error' } });
  });

  async function chat(req: SeenRequest, res: ServerResponse): Promise<void> {
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const model = body.model ?? 'gpt-4o-mini';
    if (hold === 'headers') await new Promise<void>((resolve) => waiting.push(resolve));
    const usage = { ...stub.usage, total_tokens: stub.usage.prompt_tokens + stub.usage.completion_tokens };
    if (!body.stream) {
      return json(res, 200, {
        id: 'chatcmpl-stub',
        object: 'chat.completion',
        created: 1700000000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'meow', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage,
      });
    }
    const withUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-stub', object: 'chat.completion.chunk', created: 1700000000, model, choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'me' }, finish_reason: null }]));
    if (hold === 'first-chunk') await new Promise<void>((resolve) => waiting.push(resolve));
    res.write(chunk([{ index: 0, delta: { content: 'ow' }, finish_reason: null }]));
    res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    if (withUsage) res.write(chunk([], { usage }));
    res.end('data: [DONE]\n\n');
  }

  return Object.assign(server, {
    usage: stub.usage,
    fail: (key: string, failure: OpenAiFailure) => void failures.set(key, failure),
    clearFailures: () => failures.clear(),
    hold: (point: 'headers' | 'first-chunk' | null) => {
      hold = point;
    },
    release: () => {
      const w = waiting;
      waiting = [];
      for (const resolve of w) resolve();
    },
  });
}
