import type { ServerResponse } from 'node:http';
import { json, startStubServer, type SeenRequest, type StubServer } from './stub-server';

/** The usage a stubbed message reports (cache counts included). */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** server tools the message used (reported in the final usage only when set) */
  server_tool_use?: { web_search_requests: number };
}

export interface AnthropicStub extends StubServer {
  /** usage reported by every message, JSON or streamed */
  usage: AnthropicUsage;
  /** calls with this real key answer `status` (Anthropic's error body) until cleared */
  fail(key: string, status: number): void;
  clearFailures(): void;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/**
 * A loopback stand-in for Anthropic's API: Messages (JSON, and SSE with message_start,
 * content_block_*, ping, message_delta and message_stop events), token counting, models. The
 * key must come as `x-api-key` (401 otherwise), as the real API wants it.
 */
export async function startAnthropicStub(): Promise<AnthropicStub> {
  const failures = new Map<string, number>();
  const usage: AnthropicUsage = { input_tokens: 25, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const error = (res: ServerResponse, status: number, message: string) =>
    json(res, status, { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message }, request_id: 'req_stub' });

  const server = await startStubServer((req, res) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') return error(res, 401, 'x-api-key header is required');
    const failure = failures.get(key);
    if (failure) return error(res, failure, `stub: ${ERROR_TYPES[failure] ?? 'error'}`);
    if (req.method === 'GET' && req.path === '/v1/models') {
      return json(res, 200, { data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }], has_more: false, first_id: 'claude-sonnet-4-5', last_id: 'claude-sonnet-4-5' });
    }
    if (req.method === 'POST' && req.path === '/v1/messages/count_tokens') return json(res, 200, { input_tokens: usage.input_tokens });
    if (req.method === 'POST' && req.path === '/v1/messages') return message(req, res);
    error(res, 404, `stub: no route ${req.method} ${req.path}`);
  });

  function message(req: SeenRequest, res: ServerResponse): void {
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { model?: string; stream?: boolean };
    const model = body.model ?? 'claude-sonnet-4-5';
    const id = 'msg_stub01';
    if (!body.stream) {
      return json(res, 200, {
        id, type: 'message', role: 'assistant', model,
        content: [{ type: 'text', text: 'meow' }],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { ...usage, cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 }, service_tier: 'standard' },
      });
    }
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(event('message_start', {
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    }));
    res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    res.write(event('ping', {}));
    res.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'me' } }));
    res.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'ow' } }));
    res.write(event('content_block_stop', { index: 0 }));
    res.write(event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
    res.end(event('message_stop', {}));
  }

  return Object.assign(server, {
    usage,
    fail: (key: string, status: number) => void failures.set(key, status),
    clearFailures: () => failures.clear(),
  });
}
