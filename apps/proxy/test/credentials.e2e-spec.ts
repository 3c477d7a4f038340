import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';
import { CredentialsService } from '../src/credentials/credentials.service';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

describe('provider keys: failover and rotation', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Keys');
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  async function profile(keys: string[], strategy: 'failover' | 'round_robin') {
    const cred = await fx.credential(tenantId, { vendor: 'openai', keys, strategy });
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred.id, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    return { ...cred, vk };
  }
  const chat = (token: string) =>
    rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, CHAT);
  const usedKeys = () => stub.seen().map((r) => r.headers.authorization?.replace('Bearer ', ''));

  it('moves to the next key when the first is out of quota, and the audit row names the key that served', async () => {
    const { vk, keyIds } = await profile(['sk-fo-key-1', 'sk-fo-key-2', 'sk-fo-key-3'], 'failover');
    stub.fail('sk-fo-key-1', { kind: 'status', status: 429, code: 'insufficient_quota' });
    stub.clear();
    const res = await chat(vk.token);
    expect(res.status).toBe(200);
    expect(usedKeys()).toEqual(['sk-fo-key-1', 'sk-fo-key-2']);
    const [row] = await eventually(
      () => fx.query<{ provider_key_id: string; status: number }>('SELECT provider_key_id, status FROM audit_log WHERE vault_key_id = $1 AND status <> 0', [vk.id]).then((r) => r.length > 0 && r),
      'audit row',
    );
    expect(row).toEqual({ provider_key_id: keyIds[1], status: 200 });

    // the refused key rests: the next call goes straight to the second key
    stub.clear();
    expect((await chat(vk.token)).status).toBe(200);
    expect(usedKeys()).toEqual(['sk-fo-key-2']);
    stub.clearFailures();
  });

  it('returns the last answer when every key refuses, charging nothing', async () => {
    const { vk } = await profile(['sk-all-key-1', 'sk-all-key-2'], 'failover');
    stub.fail('sk-all-key-1', { kind: 'status', status: 429, retryAfterSeconds: 30 });
    stub.fail('sk-all-key-2', { kind: 'status', status: 401 });
    stub.clear();
    const res = await chat(vk.token);
    expect(res.status).toBe(401);
    expect(usedKeys()).toEqual(['sk-all-key-1', 'sk-all-key-2']);
    const spend = await eventually(
      async () => (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id])).find((s) => s.reserved_nanos === '0'),
      'release',
    );
    expect(spend).toEqual({ spent_nanos: '0', reserved_nanos: '0' });
    stub.clearFailures();
  });

  it('spreads calls over the keys with round_robin', async () => {
    const { vk } = await profile(['sk-rr-key-1', 'sk-rr-key-2', 'sk-rr-key-3'], 'round_robin');
    stub.clear();
    for (let i = 0; i < 6; i++) expect((await chat(vk.token)).status).toBe(200);
    const counts = usedKeys().reduce<Record<string, number>>((m, k) => ({ ...m, [k!]: (m[k!] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 'sk-rr-key-1': 2, 'sk-rr-key-2': 2, 'sk-rr-key-3': 2 });
  });

  it('uses an added key and stops using a retired one on the next call', async () => {
    const { id, vk, keyIds } = await profile(['sk-rot-old'], 'failover');
    expect((await chat(vk.token)).status).toBe(200);
    const notices = vi.spyOn(CredentialsService.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
    const newKeyId = await fx.addKey(tenantId, id, 'sk-rot-new');
    await fx.retireKey(tenantId, id, keyIds[0]);
    // "the next call" is the next one after the proxy heard of the change: its notice commits with
    // it and may land a moment after the api answered on a loaded machine (as in auth.e2e-spec)
    await eventually(async () => notices.mock.calls.filter(([p]) => p.includes(id)).length >= 2 || undefined, 'the two credential notices');
    notices.mockRestore();
    stub.clear();
    const since = new Date();
    for (let i = 0; i < 3; i++) expect((await chat(vk.token)).status).toBe(200);
    expect(usedKeys()).toEqual(['sk-rot-new', 'sk-rot-new', 'sk-rot-new']);
    const rows = await eventually(
      () =>
        fx
          .query<{ provider_key_id: string }>('SELECT provider_key_id FROM audit_log WHERE vault_key_id = $1 AND created_at >= $2 AND status <> 0', [vk.id, since])
          .then((r) => r.length === 3 && r),
      'the three audit rows',
    );
    expect(rows.map((r) => r.provider_key_id)).toEqual([newKeyId, newKeyId, newKeyId]);
  });
});
