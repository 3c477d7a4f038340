import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@keyvault/crypto';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { rawRequest } from '../../../test/harness/raw-http';
import { eventually } from '../../../test/harness/wait';

describe('daily cap under concurrency', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let a: ProxyHarness;
  let b: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startStripeStub();
    fx = await proxyFixtures(api);
    a = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url });
    b = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url });
    tenantId = await fx.tenant('Cap');
    credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: ['sk_test_real_cap'] })).id;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const charge = (proxy: ProxyHarness, token: string) =>
    rawRequest(proxy.port, 'POST', '/v1/charges', { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'amount=100&currency=usd&source=tok_visa');

  async function run(instances: ProxyHarness[]) {
    // 200 charges of the same body are 200 payments here, not duplicates of one
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 50, allowed: ['POST /v1/charges'], extra: { duplicate_window: '0' } });
    stub.clear();
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => charge(instances[i % instances.length], vk.token).then((r) => r.status)));
    const spend = await eventually(
      async () => (await fx.query<{ spent_nanos: string; reserved_nanos: string }>('SELECT spent_nanos, reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1', [vk.id])).find((s) => s.reserved_nanos === '0'),
      'every call to settle',
    );
    return { vk, statuses, spend };
  }

  it('lets exactly 50 of 200 concurrent $1 charges through a $50 cap', async () => {
    const { statuses, spend } = await run([a]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(150);
    expect(stub.seen()).toHaveLength(50);
    expect(spend).toEqual({ spent_nanos: '50000000000', reserved_nanos: '0' });
  });

  it('holds the same line across two proxy instances on one database', async () => {
    const { statuses, spend } = await run([a, b]);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(150);
    expect(stub.seen()).toHaveLength(50);
    expect(spend).toEqual({ spent_nanos: '50000000000', reserved_nanos: '0' });
  });

  it('enqueues the threshold and cap-reached webhook events once, when the spend crosses them', async () => {
    const webhookId = newId('webhook');
    await fx.query(
      `INSERT INTO webhooks (id, tenant_id, url, events, threshold_pct, secret_sealed, data_key_version)
       VALUES ($1, $2, 'https://hooks.example/kv', ARRAY['vault_key.cap_threshold', 'vault_key.cap_reached'], 80, '\\x00', 1)`,
      [webhookId, tenantId],
    );
    const { vk } = await run([a, b]);
    const events = await fx.query<{ type: string; payload: { vault_key_id: string; threshold_pct?: number; spent_nanos: string } }>(
      `SELECT type, payload FROM webhook_events WHERE payload->>'vault_key_id' = $1 ORDER BY id`,
      [vk.id],
    );
    expect(events.map((e) => e.type).sort()).toEqual(['vault_key.cap_reached', 'vault_key.cap_threshold']);
    expect(events.find((e) => e.type === 'vault_key.cap_threshold')?.payload.threshold_pct).toBe(80);
    expect(events.find((e) => e.type === 'vault_key.cap_reached')?.payload.spent_nanos).toBe('50000000000');
    const deliveries = await fx.query('SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1', [webhookId]);
    expect(deliveries).toHaveLength(2);
  });
});
