import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSseStreamStub, type SseStreamStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';

const STREAMS = 1_000;
/** gpt-4o-mini: 12 prompt tokens at $0.15/M + 3 completion tokens at $0.60/M */
const USAGE_NANOS = 3_600n;

/**
 * LLM traffic is many long streams at once. With no KEYVAULT_UPSTREAM_MAX_CONNECTIONS the proxy
 * opens one upstream connection per call in flight, so no stream waits behind another; with a
 * limit, a call past it is refused 503 upstream_busy (or waits at most the queue timeout), never
 * queued silently.
 */
describe('many concurrent streams', () => {
  let api: ApiHarness;
  let stub: SseStreamStub;
  let fx: ProxyFixtures;
  let tenantId: string;
  let credentialId: string;
  const proxies: ProxyHarness[] = [];

  beforeAll(async () => {
    api = await startApi();
    stub = await startSseStreamStub();
    fx = await proxyFixtures(api);
    tenantId = await fx.tenant('Streams');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-streams'] })).id;
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const proxy = async (overrides: Record<string, string> = {}) => {
    const p = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url, ...overrides });
    proxies.push(p);
    return p;
  };
  const vaultKey = () => fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 10, allowed: ['POST /v1/chat/completions'] });
  const client = (p: ProxyHarness, token: string) => new OpenAI({ apiKey: token, baseURL: `${p.url}/openai/v1`, maxRetries: 0, timeout: 600_000 });
  const spend = async (id: string) =>
    (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [id]))[0];
  const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'stream please' }], max_tokens: 16, stream: true as const };

  async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  }

  it(`holds ${STREAMS} streams from the official SDK open upstream at once, completes them all and meters each`, { timeout: 600_000 }, async () => {
    const p = await proxy();
    const vk = await vaultKey();
    // every stream sends its first chunk, then waits until all of them are open upstream together:
    // a proxy that queued calls behind a connection limit would never get there
    stub.plan = { chunks: 5, gapMs: 50, chunkChars: 4, barrier: STREAMS, stall: 'never' };
    stub.reset();
    const openai = client(p, vk.token);
    const texts = await Promise.all(Array.from({ length: STREAMS }, async () => collect(await openai.chat.completions.create(ask))));

    expect(stub.maxOpen()).toBeGreaterThanOrEqual(STREAMS);
    expect(stub.completed()).toBe(STREAMS);
    expect(texts.every((t) => t === 'xxxx'.repeat(6))).toBe(true);
    // each call settled to its usage, exactly
    const settled = await eventually(async () => ((await spend(vk.id))?.reserved_nanos === '0' ? spend(vk.id) : undefined), 'every stream to settle', 60_000);
    expect(BigInt(settled.spent_nanos)).toBe(USAGE_NANOS * BigInt(STREAMS));
    const rows = await eventually(
      async () => {
        const r = await fx.query<{ n: string; cost: string }>(`SELECT count(*) AS n, sum(cost_nanos) AS cost FROM audit_log WHERE vault_key_id = $1 AND status = 200 AND error_code IS NULL`, [vk.id]);
        return Number(r[0].n) === STREAMS && r[0];
      },
      'an audit row per stream',
      60_000,
    );
    expect(BigInt(rows.cost)).toBe(USAGE_NANOS * BigInt(STREAMS));
    expect(await p.metric('keyvault_proxy_upstream_busy_total')).toBe(0);
  });

  it('with KEYVAULT_UPSTREAM_MAX_CONNECTIONS=2, refuses the third concurrent call 503 upstream_busy with Retry-After, releases its reservation and audits it', { timeout: 120_000 }, async () => {
    const p = await proxy({ KEYVAULT_UPSTREAM_MAX_CONNECTIONS: '2' });
    const holder = await vaultKey();
    stub.plan = { chunks: 1, gapMs: 0, chunkChars: 4, barrier: 0, stall: 'first-chunk' };
    stub.reset();
    const openai = client(p, holder.token);
    const held = await Promise.all([openai.chat.completions.create(ask), openai.chat.completions.create(ask)]);
    await eventually(async () => stub.open() === 2, 'two streams open upstream', 30_000);
    expect(await p.metric('keyvault_proxy_upstream_connections')).toBeGreaterThanOrEqual(2);

    const third = await vaultKey();
    const refused = await client(p, third.token)
      .chat.completions.create(ask)
      .then(() => null, (err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    const error = refused as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ type: 'api_error', code: 'upstream_busy' });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(stub.seen()).toHaveLength(2);
    expect(await p.metric('keyvault_proxy_upstream_busy_total')).toBe(1);
    expect(await p.metric('keyvault_proxy_calls_total', (l) => l.outcome === 'upstream_busy')).toBe(1);

    const [row] = await eventually(() => fx.query<Record<string, unknown>>('SELECT * FROM audit_log WHERE vault_key_id = $1 AND status <> 0', [third.id]).then((r) => r.length > 0 && r), 'the refusal audit row', 30_000);
    expect(row).toMatchObject({ status: 503, error_code: 'upstream_busy', cost_nanos: '0', path: '/v1/chat/completions' });
    const after = await eventually(async () => ((await spend(third.id))?.reserved_nanos === '0' ? spend(third.id) : undefined), 'the refused reservation to be released', 30_000);
    expect(after.spent_nanos).toBe('0');

    // the two held streams were not disturbed
    stub.release();
    expect(await Promise.all(held.map(collect))).toEqual(['xxxxxxxx', 'xxxxxxxx']);
  });

  it('with a queue timeout, a call past the limit waits for a free connection (counted as queued) and is then served', { timeout: 120_000 }, async () => {
    const p = await proxy({ KEYVAULT_UPSTREAM_MAX_CONNECTIONS: '1', KEYVAULT_UPSTREAM_QUEUE_TIMEOUT_MS: '300000' });
    const vk = await vaultKey();
    stub.plan = { chunks: 1, gapMs: 0, chunkChars: 4, barrier: 0, stall: 'first-chunk' };
    stub.reset();
    const openai = client(p, vk.token);
    const first = await openai.chat.completions.create(ask);
    const second = openai.chat.completions.create(ask);
    await eventually(async () => (await p.metric('keyvault_proxy_upstream_queued')) === 1, 'the second call to queue', 30_000);
    expect(stub.seen()).toHaveLength(1);
    stub.plan = { ...stub.plan, stall: 'never' };
    stub.release();
    expect(await collect(first)).toBe('xxxxxxxx');
    expect(await collect(await second)).toBe('xxxxxxxx');
    expect(await p.metric('keyvault_proxy_upstream_queued')).toBe(0);
    expect(await p.metric('keyvault_proxy_upstream_busy_total')).toBe(0);
  });
});
