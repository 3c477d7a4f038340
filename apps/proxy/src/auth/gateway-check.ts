import type { ServerResponse } from 'node:http';

/**
 * Dify checks a model provider's credentials when they are saved, with a one-word request that
 * names no vault key: `{"model": m, "max_tokens": 5, "messages": [{"role": "user", "content": "ping"}]}`
 * (dify_plugin's OAICompatLargeLanguageModel.validate_credentials; `stream: true` when the
 * provider's "stream mode auth" is on, max 16 tokens in the official plugin's retry). Refusing it
 * would make a gateway key impossible to paste into Dify, and forwarding it would spend some
 * provider key's money on no one's behalf. So the proxy answers that exact ping itself: it shows
 * the gateway key is valid and reaches the proxy, and calls no vendor.
 */
export class GatewayCheck {
  constructor(private readonly stream: boolean, private readonly model: string) {}

  /** A gateway call with no vault key id whose body is this check, or null. */
  static of(path: string, body: Buffer): GatewayCheck | null {
    if (!path.endsWith('/chat/completions') && !path.endsWith('/completions')) return null;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (typeof json !== 'object' || json === null || typeof json.model !== 'string') return null;
    const limit = json.max_tokens ?? json.max_completion_tokens;
    if (typeof limit !== 'number' || limit > 16) return null;
    const messages = json.messages;
    const ping = Array.isArray(messages)
      ? messages.length === 1 && (messages[0] as { role?: unknown }).role === 'user' && (messages[0] as { content?: unknown }).content === 'ping'
      : json.prompt === 'ping';
    return ping ? new GatewayCheck(json.stream === true, json.model) : null;
  }

  answer(res: ServerResponse): void {
    const chat = { id: 'chatcmpl-keyvault-gateway-check', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: this.model };
    const message = { role: 'assistant', content: 'pong' };
    const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    const headers = { 'x-keyvault-gateway-check': 'ok' };
    if (this.stream) {
      const chunk = { ...chat, object: 'chat.completion.chunk', choices: [{ index: 0, delta: message, finish_reason: 'stop' }], usage };
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
      return;
    }
    const body = JSON.stringify({ ...chat, choices: [{ index: 0, message, text: 'pong', finish_reason: 'stop' }], usage });
    res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Thrown by the gateway binding when the call is Dify's credentials check: the handler answers it. */
export class GatewayCheckCall extends Error {
  constructor(readonly check: GatewayCheck, readonly tenantId: string) {
    super('gateway credentials check');
  }
}
