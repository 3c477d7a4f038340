import { request as httpRequest } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../harness/api';
import { startProxy, type ProxyHarness } from '../harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../harness/proxy-fixtures';
import { eventually } from '../harness/wait';

/**
 * An upstream that misbehaves at the byte level, as no well-behaved stub can: answers that are
 * not HTTP, bodies cut mid-way, JSON that is not, streams that stop. (A hang before any answer
 * and a reset before any byte are in apps/proxy/test/errors.e2e-spec.ts.) Each call must end in
 * a 502/504, or in the bytes already sent ending cleanly (an event stream with an SSE error
 * event), with the reservation released, and the proxy must serve the next call as if nothing
 * happened. The request went out each time, so the vendor may have billed it: the worst case is
 * booked (never more than was held).
 */
type Behaviour = 'ok' | 'not-http' | 'bad-content-length' | 'huge-headers' | 'reset-mid-body' | 'truncated-chunked' | 'invalid-json' | 'stream-stops';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-raw', object: 'chat.completion', created: 1700000000, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
});

/** A loopback "vendor" writing raw bytes: reads one request, then behaves as told. */
async function startRawUpstream(): Promise<{ port: number; behave(b: Behaviour): void; requests: () => number; close(): Promise<void> }> {
  let behaviour: Behaviour = 'ok';
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      buffered = Buffer.alloc(0);
      requests++;
      answer(socket, behaviour);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    behave: (b) => void (behaviour = b),
    requests: () => requests,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function answer(socket: Socket, behaviour: Behaviour): void {
  const head = (headers: string) => `HTTP/1.1 200 OK\r\n${headers}Connection: close\r\n\r\n`;
  switch (behaviour) {
    case 'ok':
      return void socket.end(head(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(COMPLETION)}\r\n`) + COMPLETION);
    case 'not-http':
      return void socket.end('SSH-2.0-OpenSSH_9.6\r\n\u0000\u0001\u0002 this is not HTTP at all\r\n\r\n');
    case 'bad-content-length':
      return void socket.end('HTTP/1.1 200 OK\r\nContent-Length: twelve\r\nContent-Type: application/json\r\n\r\n{}');
    case 'huge-headers':
      return void socket.end(head(`X-Padding: ${'p'.repeat(70_000)}\r\nContent-Length: 2\r\n`) + '{}');
    case 'reset-mid-body':
      socket.write(head('Content-Type: application/json\r\nContent-Length: 5000\r\n') + COMPLETION.slice(0, 40));
      return void setTimeout(() => socket.resetAndDestroy(), 20);
    case 'truncated-chunked':
      // one chunk, then the connection ends without the terminating zero-length chunk
      return void socket.end(head('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n') + `28\r\n${COMPLETION.slice(0, 40)}\r\n`);
    case 'invalid-json': {
      const body = '{"id": "chatcmpl-raw", "usage": {"prompt_tokens": 10, "completion_tokens": ';
      return void socket.end(head(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`) + body);
    }
    case 'stream-stops': {
      const chunk = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'me' }, finish_reason: null }] })}\n\n`;
      // headers and a first event, then silence on an open connection
      return void socket.write(head('Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n') + `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
    }
  }
}

/** One call that reports whatever arrived, complete or cut off. */
function call(port: number, token: string, body: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/openai/v1/chat/completions', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        let done = false;
        const finish = (complete: boolean) => {
          if (!done) {
            done = true;
            resolve({ status: res.statusCode ?? 0, body: text, complete });
          }
        };
        res.on('data', (c) => (text += c));
        res.on('end', () => finish(res.complete));
        res.on('error', () => finish(false));
        res.on('close', () => finish(res.complete));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('an upstream that answers garbage', () => {
  let api: ApiHarness;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let upstream: Awaited<ReturnType<typeof startRawUpstream>>;
  let tenantId: string;
  let credentialId: string;
  let faults = 0;

  beforeAll(async () => {
    api = await startApi();
    fx = await proxyFixtures(api);
    upstream = await startRawUpstream();
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: `http://127.0.0.1:${upstream.port}`, KEYVAULT_UPSTREAM_TIMEOUT_MS: '400', KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS: '400', KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: '400' });
    tenantId = await fx.tenant('Garbage');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-garbage-upstream'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await fx?.close();
    await api?.close();
    console.info(`upstream faults: ${faults} calls against a misbehaving upstream, every reservation released, proxy healthy after each`);
  });

  const spend = async (id: string) =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]))[0];

  it.each<[Behaviour, { statuses: number[]; stream?: boolean; charged: 'the reservation' | 'at most the reservation' }]>([
    ['not-http', { statuses: [502], charged: 'the reservation' }],
    ['bad-content-length', { statuses: [502], charged: 'the reservation' }],
    ['huge-headers', { statuses: [502], charged: 'the reservation' }],
    ['reset-mid-body', { statuses: [200], charged: 'at most the reservation' }],
    ['truncated-chunked', { statuses: [200], charged: 'at most the reservation' }],
    ['invalid-json', { statuses: [200], charged: 'at most the reservation' }],
    ['stream-stops', { statuses: [200], stream: true, charged: 'at most the reservation' }],
  ])('%s: ends in a 502/504 or the bytes already sent, releases the reservation, and the next call is served', async (behaviour, expected) => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    upstream.behave(behaviour);
    const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, stream: expected.stream === true, messages: [{ role: 'user', content: 'hi' }] });
    const res = await call(proxy.port, vk.token, body);
    faults++;
    expect(expected.statuses, `${behaviour} → ${res.status} ${res.body.slice(0, 200)}`).toContain(res.status);
    if (res.status >= 500) {
      expect(JSON.parse(res.body).error).toMatchObject({ type: 'api_error', code: res.status === 504 ? 'upstream_timeout' : 'upstream_unreachable' });
    } else if (behaviour === 'invalid-json') {
      // passed through as the vendor sent it, complete
      expect(res.complete).toBe(true);
      expect(res.body).toContain('"completion_tokens": ');
    } else if (behaviour === 'stream-stops') {
      // the upstream went quiet past KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: the stream ends with an error event, never a forged [DONE]
      expect(res.body).toContain('event: error');
      expect(res.body).toContain('"code":"upstream_timeout"');
      expect(res.body).not.toContain('[DONE]');
    } else {
      // the client sees the response end early, never a forged ending
      expect(res.complete).toBe(false);
    }
    expect(res.body).not.toContain('sk-real-garbage-upstream');

    // nothing stays reserved; what is charged is the worst case (no answer) or at most what was held
    const after = await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), `release after ${behaviour}`);
    if (expected.charged === 'the reservation') expect(BigInt(after.spent_nanos)).toBeGreaterThan(0n);
    expect(BigInt(after.spent_nanos)).toBeLessThanOrEqual(5_000_000_000n); // settle never books more than was held, within the cap

    // unharmed: the same key is served by a well-behaved upstream right after, and settles to usage
    upstream.behave('ok');
    const next = await call(proxy.port, vk.token, JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'again' }] }));
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body).usage.total_tokens).toBe(12);
    await eventually(async () => (await spend(vk.id))?.reserved_nanos === '0', `settle of the next call after ${behaviour}`);
    expect((await fetch(`${proxy.url}/healthz`)).status).toBe(200);
  });
});
