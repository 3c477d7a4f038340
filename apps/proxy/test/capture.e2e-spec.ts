import { spawnSync } from 'node:child_process';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';

const REAL_KEY = 'sk_test_capture_real_stripe_key_0001';
/** A key pasted into a request body by mistake: it must not be stored. */
const LEAKED = 'sk_live_51LeakedIntoTheBody0000000001';

describe('capture: what a tool sent and received, sealed and redacted', () => {
  let api: ApiHarness;
  let stub: StubServer;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startStripeStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url, KEYVAULT_CAPTURE_MAX_BYTES: '2048' });
    tenantId = await fx.tenant('Captured');
    credentialId = (await fx.credential(tenantId, { vendor: 'stripe', keys: [REAL_KEY] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const stripe = (token: string) => new Stripe(token, { host: '127.0.0.1', port: proxy.port, protocol: 'http', maxNetworkRetries: 0 });
  const admin = () => ({ get: (p: string) => api.admin().get(p).set('Keyvault-Tenant', tenantId) });
  /** The audit entry of the key's one call, once written, with its capture once sealed. */
  async function entryOf(vaultKeyId: string, withCapture = true) {
    let entry: { id: string; capture: Record<string, any> | null } | undefined;
    await expect
      .poll(async () => {
        const [row] = (await admin().get(`/audit?vault_key=${vaultKeyId}`).expect(200)).body.data;
        if (!row) return false;
        entry = (await admin().get(`/audit/${row.id}`).expect(200)).body;
        return withCapture ? entry!.capture !== null : true;
      }, { timeout: 10_000 })
      .toBe(true);
    return entry!;
  }

  it('capture bodies on a Stripe call shows the form body with the card token, but no key', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'], extra: { capture: 'bodies' } });
    expect((await admin().get(`/vault/keys/${vk.id}`).expect(200)).body.capture).toBe('bodies');
    const pi = await stripe(vk.token).paymentIntents.create({ amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', metadata: { note: LEAKED } });

    const entry = await entryOf(vk.id);
    const c = entry.capture!;
    expect(c.level).toBe('bodies');
    const form = new URLSearchParams(c.request.body.text);
    expect(form.get('amount')).toBe('2000');
    expect(form.get('payment_method')).toBe('pm_card_visa');
    expect(form.get('metadata[note]')).toBe('[redacted]');
    expect(c.request.body).toMatchObject({ encoding: 'utf8', truncated: false });
    expect(c.request.headers.authorization).toBe('[redacted]');
    expect(c.request.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(c.response.status).toBe(200);
    expect(JSON.parse(c.response.body.text)).toMatchObject({ id: pi.id, object: 'payment_intent', amount: 2000 });
    const all = JSON.stringify(entry);
    for (const secret of [vk.token, REAL_KEY, LEAKED]) expect(all).not.toContain(secret);
    expect(JSON.stringify(c)).not.toContain('vault_key_');

    // only sealed at rest: a dump of the whole database holds none of it
    const dump = spawnSync('pg_dump', ['--no-password', '--dbname', api.db.url], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect(dump.status).toBe(0);
    expect(dump.stdout).toContain('audit_captures');
    for (const plain of ['pm_card_visa', pi.id, 'payment_method', 'requires_payment_method']) expect(dump.stdout).not.toContain(plain);
  });

  it('metadata keeps the headers only; none keeps nothing; bodies are cut at KEYVAULT_CAPTURE_MAX_BYTES', async () => {
    const meta = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'], extra: { capture: 'metadata' } });
    await stripe(meta.token).paymentIntents.create({ amount: 100, currency: 'usd' });
    const m = (await entryOf(meta.id)).capture!;
    expect(m.level).toBe('metadata');
    expect(m.request.headers.authorization).toBe('[redacted]');
    expect(m.request).not.toHaveProperty('body');
    expect(m.response).toMatchObject({ status: 200 });
    expect(m.response).not.toHaveProperty('body');

    const none = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'] });
    await stripe(none.token).paymentIntents.create({ amount: 100, currency: 'usd' });
    expect((await entryOf(none.id, false)).capture).toBeNull();

    const big = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'], extra: { capture: 'bodies' } });
    await stripe(big.token).paymentIntents.create({ amount: 100, currency: 'usd', description: 'x'.repeat(5000) });
    const b = (await entryOf(big.id)).capture!;
    expect(b.request.body.truncated).toBe(true);
    expect(b.request.body.bytes).toBeGreaterThan(5000);
    expect(Buffer.byteLength(b.request.body.text)).toBeLessThanOrEqual(2048);
  });

  it('a clean shutdown stores the captures of the calls it served last (the capture worker is drained)', async () => {
    const second = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stub.url });
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'], extra: { capture: 'bodies' } });
    const client = new Stripe(vk.token, { host: '127.0.0.1', port: second.port, protocol: 'http', maxNetworkRetries: 0 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.paymentIntents.create({ amount: 100 + i, currency: 'usd' })));
    expect(await second.metric('keyvault_proxy_captures_dropped_total')).toBe(0);
    await second.close();
    const stored = await fx.query<{ n: string }>('SELECT count(*) AS n FROM audit_captures WHERE audit_id IN (SELECT id FROM audit_log WHERE vault_key_id = $1)', [vk.id]);
    expect(Number(stored[0].n)).toBe(5);
    // stored together, each opens on its own (the batch's rows were cut apart right)
    const rows = (await admin().get(`/audit?vault_key=${vk.id}`).expect(200)).body.data as Array<{ id: string }>;
    const amounts: string[] = [];
    for (const row of rows) {
      const c = (await admin().get(`/audit/${row.id}`).expect(200)).body.capture;
      expect(c.level).toBe('bodies');
      amounts.push(new URLSearchParams(c.request.body.text).get('amount')!);
    }
    expect(amounts.sort()).toEqual(['100', '101', '102', '103', '104']);
  });

  it('is readable only with audit:read, and only by its own tenant', async () => {
    const vk = await fx.vaultKey(tenantId, { vendor: 'stripe', credentialId, capUsd: 100, allowed: ['POST /v1/payment_intents'], extra: { capture: 'bodies' } });
    await stripe(vk.token).paymentIntents.create({ amount: 100, currency: 'usd' });
    const entry = await entryOf(vk.id);
    const issuer = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'issuer', scopes: ['vault_keys:issue', 'vault_keys:read'] }).expect(201)).body.api_key;
    const refused = await api.http.get(`/audit/${entry.id}`).set('Authorization', `Bearer ${issuer}`).expect(403);
    expect(refused.body.error.code).toBe('insufficient_scope');
    const other = await fx.tenant('Someone else');
    await api.admin().get(`/audit/${entry.id}`).set('Keyvault-Tenant', other).expect(404);
  });
});
