import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { spendChecks } from '../../../test/harness/spend';

/** 10 tokens (the stub's usage) of text-embedding-3-small at $0.02 per million: 0.2 µ$, 200 n$. */
const EMBEDDING = JSON.stringify({ model: 'text-embedding-3-small', input: 'ten tokens of text, about' });
const CALLS = 10_000;
const CONCURRENCY = 25;

describe('money is exact to the nano-dollar', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    Object.assign(stub.usage, { prompt_tokens: 10, completion_tokens: 0 });
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  it('books 10,000 embeddings of 0.2 µ$ as exactly 0.002 USD, the sum of their audit rows', async () => {
    const tenantId = await fx.tenant('Exact');
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-exact'] })).id;
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 1, allowed: ['POST /v1/embeddings'] });
    const statuses: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        next++;
        const res = await fetch(`${proxy.url}/openai/v1/embeddings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${vk.token}`, 'content-type': 'application/json' },
          body: EMBEDDING,
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(CALLS);

    const spend = spendChecks(api, fx, tenantId);
    expect(await spend.spentTodayUsd(vk.id)).toBe(0.002);
    expect((await spend.ledger(vk.id))?.spent_nanos).toBe('2000000');
    const [audit] = await fx.query<{ rows: string; cost: string }>(
      'SELECT count(*)::text AS rows, sum(cost_nanos)::text AS cost FROM audit_log WHERE vault_key_id = $1',
      [vk.id],
    );
    expect(audit).toEqual({ rows: String(CALLS), cost: '2000000' });
  }, 240_000);
});
