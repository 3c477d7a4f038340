import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

interface Row {
  tenant_id: string | null;
  vault_key_id: string | null;
  credential_id: string | null;
  provider_key_id: string | null;
  vendor: string;
  method: string;
  path: string;
  status: number;
  error_code: string | null;
  cost_nanos: string;
  run_id: string | null;
  conversation_id: string | null;
  duration_ms: number;
}

describe('audit log', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let tenantId: string;
  let cred: { id: string; keyIds: string[] };

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    tenantId = await fx.tenant('Audit');
    cred = await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-audit'] });
  });
  afterAll(async () => {
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const start = () => startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
  const rowsOf = (vaultKeyId: string | null, since: string) =>
    fx.query<Row>(
      `SELECT tenant_id, vault_key_id, credential_id, provider_key_id, vendor, method, path, status, error_code, cost_nanos, run_id, conversation_id, duration_ms
         FROM audit_log WHERE ${vaultKeyId ? 'vault_key_id = $1' : 'vault_key_id IS NULL AND $1::text IS NULL'} AND created_at >= $2::timestamptz ORDER BY id`,
      [vaultKeyId, since],
    );

  it('writes one row per call of a vault key, refused ones included, and a clean shutdown writes every buffered row', async () => {
    const since = (await fx.query<{ now: string }>('SELECT now()::text AS now'))[0].now;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred.id, capUsd: 0.00003, allowed: ['POST /v1/chat/completions'] });
    const proxy = await start();
    const call = (path: string, headers: Record<string, string>, body = CHAT) =>
      rawRequest(proxy.port, 'POST', path, { 'content-type': 'application/json', ...headers }, body);
    const auth = { authorization: `Bearer ${vk.token}` };

    const statuses = [
      (await call('/openai/v1/chat/completions?debug=1', { ...auth, 'x-dify-workflow-run-id': 'wf-run-7', 'x-conversation-id': 'conv-7' })).status,
      (await call('/openai/v1/embeddings', auth)).status,
      (await call('/openai/v1/chat/completions', auth, JSON.stringify({ model: 'nope', messages: [] }))).status,
      (await call('/openai/v1/chat/completions', auth, JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16000, messages: [] }))).status,
      (await call('/openai/v1/chat/completions', { authorization: 'Bearer vault_key_forged' })).status,
    ];
    expect(statuses).toEqual([200, 403, 422, 429, 401]);
    // an unauthenticated refusal is counted, not written: it cannot crowd out the rows of paid calls
    expect(await proxy.metric('keyvault_proxy_unauthenticated_refusals_total', (l) => l.code === 'invalid_vault_key')).toBe(1);
    // shut down at once: nothing may be lost from the buffer
    await proxy.close();

    const rows = await rowsOf(vk.id, since);
    expect(rows).toHaveLength(4);
    const common = { tenant_id: tenantId, vault_key_id: vk.id, credential_id: cred.id, vendor: 'openai', method: 'POST' };
    expect(rows[0]).toMatchObject({ ...common, path: '/v1/chat/completions', status: 200, error_code: null, cost_nanos: '3600', provider_key_id: cred.keyIds[0], run_id: 'wf-run-7', conversation_id: 'conv-7' });
    expect(rows[1]).toMatchObject({ ...common, path: '/v1/embeddings', status: 403, error_code: 'endpoint_not_allowed', cost_nanos: '0', provider_key_id: null, run_id: null });
    expect(rows[2]).toMatchObject({ ...common, path: '/v1/chat/completions', status: 422, error_code: 'unpriced_request' });
    expect(rows[3]).toMatchObject({ ...common, status: 429, error_code: 'daily_cap_exceeded' });
    expect(rows.every((r) => r.duration_ms >= 0)).toBe(true);
    expect(await rowsOf(null, since)).toEqual([]);
  });

  it('finishes calls in flight before closing, and audits them', async () => {
    const since = (await fx.query<{ now: string }>('SELECT now()::text AS now'))[0].now;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred.id, capUsd: 1, allowed: ['POST /v1/chat/completions'] });
    const proxy = await start();
    stub.hold('first-chunk');
    try {
      const streaming = rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' },
        JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [] }));
      // the call is in flight once the upstream has it
      for (let i = 0; i < 500 && !stub.seen().some((r) => r.body.toString().includes('"stream":true')); i++) await new Promise((r) => setTimeout(r, 10));
      const closing = proxy.close();
      stub.release();
      const res = await streaming;
      expect(res.status).toBe(200);
      expect(res.body).toContain('data: [DONE]');
      await closing;
    } finally {
      stub.hold(null);
      stub.release();
    }
    expect(await rowsOf(vk.id, since)).toEqual([expect.objectContaining({ status: 200, cost_nanos: '3600' })]);
  });
});
