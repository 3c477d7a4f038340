import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiStub, startTcpRelay, type OpenAiStub, type TcpRelay } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

describe('when the vault database goes away', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let relay: TcpRelay;
  let proxy: ProxyHarness;
  let token: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    relay = await startTcpRelay();
    // only the proxy goes through the relay; the api and the test keep their own connections
    proxy = await startProxy(relay.through(api.db.url), api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    const tenantId = await fx.tenant('Outage');
    const cred = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-outage'] })).id;
    token = (await fx.vaultKey(tenantId, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions', 'GET /v1/models'] })).token;
  });
  afterAll(async () => {
    await proxy?.close();
    await relay?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const chat = () => rawRequest(proxy.port, 'POST', '/openai/v1/chat/completions', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, CHAT);
  const models = () => rawRequest(proxy.port, 'GET', '/openai/v1/models', { authorization: `Bearer ${token}` });

  it('fails closed with 503 vault_unavailable, forwards nothing, and recovers by itself', async () => {
    // traffic with every cache warm
    expect((await Promise.all(Array.from({ length: 10 }, chat))).map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await models()).status).toBe(200);

    // the database disappears in the middle of traffic
    const during = Array.from({ length: 20 }, chat);
    relay.cut();
    const statuses = (await Promise.all(during)).map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);

    // from now on nothing is forwarded, not even a free call with everything cached
    await eventually(async () => (await chat()).status === 503, 'the first refusal');
    stub.clear();
    const refused = await Promise.all([...Array.from({ length: 10 }, chat), models(), models()]);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).error).toMatchObject({ type: 'api_error', code: 'vault_unavailable' });
    }
    expect(stub.seen()).toHaveLength(0);

    // the database comes back: no restart needed
    relay.restore();
    await eventually(async () => (await chat()).status === 200, 'recovery', 15_000);
    expect((await models()).status).toBe(200);

    // refused before their key could be checked: counted, not written one row each
    expect(await proxy.metric('keyvault_proxy_unauthenticated_refusals_total', (l) => l.code === 'vault_unavailable')).toBeGreaterThanOrEqual(refused.length);
    // and every call that was forwarded has its row, its outcome written once the database came back
    const forwarded = 10 + statuses.filter((s) => s === 200).length + 1;
    await eventually(
      async () => (await fx.query(`SELECT 1 FROM audit_log WHERE status = 200`)).length >= forwarded,
      'the outcomes of the forwarded calls',
      15_000,
    );
    // and none is left without its outcome (the count above can be reached while the last outcome is on its way)
    await eventually(async () => (await fx.query(`SELECT id FROM call_records UNION ALL SELECT id FROM audit_log WHERE status = 0`)).length === 0, 'no call left without its outcome', 15_000);
  });
});
