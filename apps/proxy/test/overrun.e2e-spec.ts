import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });

describe('a call that costs more than its worst case', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  it('is booked and audited at its real cost, counted as an overrun, and the key over its cap refuses the next call', async () => {
    const tenantId = await fx.tenant('Overrun');
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-overrun'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 0.01, allowed: ['POST /v1/chat/completions'] });
    // the vendor bills far more prompt tokens than the body could hold (an image or a file it fetched)
    Object.assign(stub.usage, { prompt_tokens: 100_000, completion_tokens: 10 });
    const call = () => rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' }, CHAT);
    expect((await call()).status).toBe(200);
    // 100,000 × 150 n$ + 10 × 600 n$
    const cost = 100_000 * 150 + 10 * 600;
    const spend = await eventually(async () => {
      const [s] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id]);
      return s?.reserved_nanos === '0' && s;
    }, 'the call to be booked');
    expect(spend.spent_nanos).toBe(String(cost));
    const [row] = await fx.query<{ cost_nanos: string; reserved_nanos: string }>('SELECT cost_nanos, reserved_nanos FROM audit_log WHERE vault_key_id = $1', [vk.id]);
    expect(row.cost_nanos).toBe(String(cost));
    expect(BigInt(row.reserved_nanos)).toBeLessThan(BigInt(cost));
    expect(await proxy.metric('keyvault_proxy_cost_overruns_total')).toBe(1);
    // $0.015 spent of a $0.01 cap: refused
    const next = await call();
    expect(next.status).toBe(429);
    expect(JSON.parse(next.body).error.code).toBe('daily_cap_exceeded');
  });
});
