import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const STREAMS = 20;
/** gpt-4o-mini: 12 prompt tokens at $0.15/M + 3 completion tokens at $0.60/M */
const USAGE_NANOS = 3_600n;

/** A self-signed certificate for 127.0.0.1, made for this run (openssl), trusted through KEYVAULT_UPSTREAM_CA_FILE. */
function testCertificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/**
 * A loopback OpenAI that speaks only HTTP/2 over TLS: chat-completion streams that hold after
 * their first chunk until `STREAMS` are open at once, and which sessions (connections) carried them.
 */
async function startH2Stub(tls: { key: string; cert: string }) {
  const sessions = new Set<Http2Session>();
  const streamsPerSession = new Map<Http2Session, number>();
  let open = 0;
  let closedEarly = 0;
  let waiting: Array<() => void> = [];
  /** 'barrier': streams wait for each other after their first chunk; 'stall': they stay silent after it until closed */
  let mode: 'barrier' | 'stall' = 'barrier';
  const server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: false });
  server.on('session', (s) => sessions.add(s));
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { stream?: boolean; stream_options?: { include_usage?: boolean } };
      if (headers[':path'] !== '/v1/chat/completions' || !body.stream) {
        stream.respond({ ':status': 404, 'content-type': 'application/json' });
        return void stream.end('{"error":{"message":"stub: streams only"}}');
      }
      streamsPerSession.set(stream.session!, (streamsPerSession.get(stream.session!) ?? 0) + 1);
      open++;
      // (a stream the client cancels with NO_ERROR counts as finished for Node: what counts is whether the stub ended it)
      let ended = false;
      stream.on('close', () => {
        open--;
        if (!ended) closedEarly++;
      });
      const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id: 'chatcmpl-h2', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini', choices, usage: null, ...extra })}\n\n`;
      stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
      stream.write(event([{ index: 0, delta: { role: 'assistant', content: 'h2' }, finish_reason: null }]));
      if (mode === 'stall') return;
      if (open >= STREAMS) {
        for (const go of waiting) go();
        waiting = [];
      } else {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      stream.write(event([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      if (body.stream_options?.include_usage) stream.write(event([], { usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } }));
      ended = true;
      stream.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** sessions that carried at least one stream */
    usedSessions: () => [...streamsPerSession.values()],
    resetCounts: () => streamsPerSession.clear(),
    closedEarly: () => closedEarly,
    setMode: (m: 'barrier' | 'stall') => void (mode = m),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('HTTP/2 to a TLS upstream (KEYVAULT_UPSTREAM_HTTP2)', () => {
  let dir: string;
  let api: ApiHarness;
  let stub: Awaited<ReturnType<typeof startH2Stub>>;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kv-h2-'));
    const tls = testCertificate(dir);
    api = await startApi();
    stub = await startH2Stub(tls);
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: stub.url,
      KEYVAULT_UPSTREAM_HTTP2: 'true',
      KEYVAULT_UPSTREAM_CA_FILE: tls.certFile,
      // the stub holds each stream silent until all are open: under load that took 1.5 s once
      KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: '5000',
    });
    tenantId = await fx.tenant('HTTP/2');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-h2'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`carries ${STREAMS} concurrent streams from the official SDK over one HTTP/2 connection, each settled to its usage`, { timeout: 120_000 }, async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 10, allowed: ['POST /v1/chat/completions'] });
    const openai = new OpenAI({ apiKey: vk.token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0, timeout: 120_000 });
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'over h2' }], max_tokens: 16, stream: true as const };
    const collect = async () => {
      let text = '';
      for await (const chunk of await openai.chat.completions.create(ask)) text += chunk.choices[0]?.delta?.content ?? '';
      return text;
    };
    // the first call opens the connection; the rest find it open (the stub holds every stream until all are open)
    const first = collect();
    await eventually(async () => stub.usedSessions().length === 1, 'the first stream to open', 30_000);
    const texts = await Promise.all([first, ...Array.from({ length: STREAMS - 1 }, collect)]);
    expect(texts).toEqual(Array.from({ length: STREAMS }, () => 'h2'));
    expect(stub.usedSessions()).toEqual([STREAMS]);

    const settled = await eventually(
      async () => {
        const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
        return s && s.reserved_nanos === '0' ? s : undefined;
      },
      'every stream to settle',
      30_000,
    );
    expect(BigInt(settled.spent_nanos)).toBe(USAGE_NANOS * BigInt(STREAMS));
  });

  const spent = (id: string) =>
    eventually(
      async () => {
        const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]);
        return s && s.reserved_nanos === '0' ? BigInt(s.spent_nanos) : undefined;
      },
      'the call to settle',
      30_000,
    );

  it('over HTTP/2 too, a client hang-up closes the upstream stream at once and an idle upstream ends with an SSE error event', { timeout: 120_000 }, async () => {
    stub.setMode('stall');
    try {
      const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 10, allowed: ['POST /v1/chat/completions'] });
      const openai = new OpenAI({ apiKey: vk.token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0, timeout: 120_000 });
      const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'over h2' }], max_tokens: 16, stream: true as const };
      const before = stub.closedEarly();

      // hang-up after the first chunk
      for await (const chunk of await openai.chat.completions.create(ask)) {
        expect(chunk.choices[0]?.delta?.content).toBe('h2');
        break;
      }
      await eventually(async () => stub.closedEarly() === before + 1, 'the stub to see the stream closed', 30_000);

      // an upstream silent past KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS
      const failure = await (async () => {
        for await (const chunk of await openai.chat.completions.create(ask)) void chunk;
      })().then(() => null, (err: unknown) => err);
      expect((failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'upstream_timeout' });
      await eventually(async () => stub.closedEarly() === before + 2, 'the stub to see the idle stream closed', 30_000);
      expect(await spent(vk.id)).toBeGreaterThan(2n * USAGE_NANOS);
    } finally {
      stub.setMode('barrier');
    }
  });
});
