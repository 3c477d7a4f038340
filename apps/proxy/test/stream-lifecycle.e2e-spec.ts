import { request as httpRequest, type IncomingMessage } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSseStreamStub, type SseStreamStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

/** gpt-4o-mini: 12 prompt tokens at $0.15/M + 3 completion tokens at $0.60/M */
const USAGE_NANOS = 3_600n;
const IDLE_MS = 1_500;

/**
 * A stream's life at the edges, each observed at the upstream stub: no total timeout, an idle
 * upstream ended with an SSE error event, a client hang-up aborting the upstream at once, and a
 * slow reader pausing the upstream instead of being buffered for. What each is booked at: the
 * usage read when it covers everything sent; else, for a stream the proxy cut (idle, hang-up),
 * the prompt's worst case plus the streamed text's bytes as output tokens (stream-cut.e2e-spec.ts
 * checks that rule to the nano-dollar with both SDKs); else the worst case (the request went out).
 */
describe('a stream from start to end', () => {
  let api: ApiHarness;
  let stub: SseStreamStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startSseStreamStub();
    fx = await proxyFixtures(api);
    // every limit short, so a stream longer than all of them proves none is a total timeout
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: stub.url,
      KEYVAULT_UPSTREAM_TIMEOUT_MS: String(IDLE_MS),
      KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS: String(IDLE_MS),
      KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
    });
    tenantId = await fx.tenant('Stream lifecycle');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-lifecycle'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const vaultKey = () => fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 10, allowed: ['POST /v1/chat/completions'] });
  const client = (token: string) => new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0, timeout: 600_000 });
  const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'stream please' }], max_tokens: 16, stream: true as const };
  const settled = (id: string) =>
    eventually(
      async () => {
        const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]);
        return s && s.reserved_nanos === '0' ? BigInt(s.spent_nanos) : undefined;
      },
      'the call to settle',
      30_000,
    );
  const auditRow = async (id: string) =>
    (await eventually(() => fx.query<Record<string, unknown>>('SELECT status, error_code, cost_nanos FROM audit_log WHERE vault_key_id = $1 AND status <> 0', [id]).then((r) => r.length > 0 && r), 'the audit row', 30_000))[0];
  const reservedFor = async (id: string) => BigInt((await fx.query<{ reserved_nanos: string }>('SELECT reserved_nanos FROM audit_log WHERE vault_key_id = $1', [id]))[0].reserved_nanos);
  /** a cut stream of gpt-4o-mini whose one delta carried 'xxxx': its worst case less the 12 of its 16 output tokens never streamed ($0.60 per million) */
  const cutCost = async (id: string) => (await reservedFor(id)) - 12n * 600n;
  const plan = (p: Partial<SseStreamStub['plan']>) => {
    stub.plan = { chunks: 3, gapMs: 20, chunkChars: 4, barrier: 0, stall: 'never', ...p };
    stub.reset();
  };

  it('never cuts a stream that keeps sending, however long it runs past every timeout', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ chunks: 40, gapMs: 100 }); // ≥ 4 s, every limit is 1.5 s
    let text = '';
    for await (const chunk of await client(vk.token).chat.completions.create(ask)) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('xxxx'.repeat(41));
    expect(stub.completed()).toBe(1);
    expect(await settled(vk.id)).toBe(USAGE_NANOS);
  });

  it('ends a stream whose upstream goes silent with an SSE error event, closes the upstream and books what was streamed', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ stall: 'first-chunk' });
    const stream = await client(vk.token).chat.completions.create(ask);
    const chunks: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta?.content ?? '');
    })().then(() => null, (err: unknown) => err);
    expect(chunks).toEqual(['xxxx']);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'api_error', code: 'upstream_timeout' });
    await eventually(async () => stub.closedEarly() === 1, 'the stub to see its stream closed', 30_000);
    // usage never came: the prompt's worst case and the 4 bytes streamed as output tokens
    const spent = await settled(vk.id);
    expect(spent).toBe(await cutCost(vk.id));
    expect(await auditRow(vk.id)).toEqual({ status: 200, error_code: 'upstream_timeout', cost_nanos: String(spent) });
  });

  it('closes a plain JSON answer whose upstream goes silent mid-body (no forged end), closes the upstream and books the worst case', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ stall: 'first-chunk' });
    const res = await new Promise<{ status: number; complete: boolean; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/openai/v1/chat/completions', agent: false, headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' } },
        (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString('utf8')));
          const done = () => resolve({ status: r.statusCode ?? 0, complete: r.complete, body: text });
          r.on('end', done);
          r.on('close', done);
          r.on('error', () => undefined);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ ...ask, stream: false }));
    });
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    expect(res.body).toContain('"chatcmpl-slow"');
    expect(res.body).not.toContain('"usage"');
    await eventually(async () => stub.closedEarly() === 1, 'the stub to see its answer closed', 30_000);
    const spent = await settled(vk.id);
    expect(spent).toBeGreaterThan(USAGE_NANOS);
    expect(await auditRow(vk.id)).toEqual({ status: 200, error_code: 'upstream_timeout', cost_nanos: String(spent) });
  });

  it('aborts the upstream at once when the client hangs up mid-stream, and books what was streamed', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ stall: 'first-chunk' });
    const stream = await client(vk.token).chat.completions.create(ask);
    for await (const chunk of stream) {
      expect(chunk.choices[0]?.delta?.content).toBe('xxxx');
      break; // leaving the loop aborts the request
    }
    await eventually(async () => stub.closedEarly() === 1, 'the stub to see the hang-up', 30_000);
    const spent = await settled(vk.id);
    expect(spent).toBe(await cutCost(vk.id));
    expect(await auditRow(vk.id)).toEqual({ status: 200, error_code: 'client_closed', cost_nanos: String(spent) });
  });

  it('books a hang-up after the usage chunk at that usage, exactly', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ stall: 'usage' });
    const stream = await client(vk.token).chat.completions.create({ ...ask, stream_options: { include_usage: true } });
    for await (const chunk of stream) if (chunk.usage) break;
    await eventually(async () => stub.closedEarly() === 1, 'the stub to see the hang-up', 30_000);
    expect(await settled(vk.id)).toBe(USAGE_NANOS);
  });

  it('aborts the upstream request when the client hangs up before the answer starts, and books the worst case (the request went out)', { timeout: 120_000 }, async () => {
    const vk = await vaultKey();
    plan({ stall: 'headers' });
    const abort = new AbortController();
    const call = client(vk.token).chat.completions.create(ask, { signal: abort.signal }).then(() => null, (err: unknown) => err);
    await eventually(async () => stub.open() === 1, 'the request to reach the stub', 30_000);
    abort.abort();
    expect(await call).toBeInstanceOf(Error);
    await eventually(async () => stub.closedEarly() === 1, 'the stub to see the abort', 30_000);
    expect(await settled(vk.id)).toBeGreaterThan(USAGE_NANOS);
    expect(await auditRow(vk.id)).toMatchObject({ error_code: 'client_closed' });
  });

  it('pauses the upstream while the client does not read (the stub sees its writes blocked), then delivers everything', { timeout: 300_000 }, async () => {
    const vk = await vaultKey();
    // ~128 MiB of events; a proxy buffering for a slow reader would take it all from the upstream
    plan({ chunks: 2_000, gapMs: 0, chunkChars: 64 * 1024 });
    const total = 2_001 * 64 * 1024;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/openai/v1/chat/completions', agent: false, headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' } },
        resolve,
      );
      req.on('error', reject);
      req.end(JSON.stringify({ ...ask, stream_options: { include_usage: true } }));
    });
    res.pause();
    expect(res.statusCode).toBe(200);
    await eventually(async () => stub.blocked() === 1, 'the stub to be held back', 60_000);
    const held = stub.bytesWritten();
    // only what the sockets and stream buffers in between hold got out of the stub
    expect(held).toBeLessThan(total / 2);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stub.blocked()).toBe(1);
    expect(stub.bytesWritten()).toBeLessThan(total / 2);
    console.info(`slow reader: the stub wrote ${(held / 2 ** 20).toFixed(1)} MiB of ${(total / 2 ** 20).toFixed(0)} MiB before being held back`);

    let received = 0;
    let tail = '';
    res.on('data', (c: Buffer) => {
      received += c.length;
      tail = (tail + c.toString('latin1')).slice(-64);
    });
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(received).toBeGreaterThan(total);
    expect(tail).toContain('[DONE]');
    expect(stub.completed()).toBe(1);
    expect(await settled(vk.id)).toBe(USAGE_NANOS);
  });
});
