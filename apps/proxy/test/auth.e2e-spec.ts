import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { aad, exportPrivateKey, exportPublicKey, generateSigningKeyPair, MasterKeyring, newId, VAULT_KEY_ALG } from '@keyvault/crypto';
import { revokeVaultKeys, withTenant } from '@keyvault/db';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';
import { VaultKeyAuth } from '../src/auth/vault-key-auth';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

describe('proxy authentication', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let a: ProxyHarness;
  let b: ProxyHarness;
  let tenantId: string;
  let credentialId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    a = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    b = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Auth');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-auth'] })).id;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });

  const issue = (tenant = tenantId, cred = credentialId) =>
    fx.vaultKey(tenant, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
  const chat = (proxy: ProxyHarness, headers: Record<string, string>, path = '/openai/v1/chat/completions') =>
    fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: CHAT });
  const expectError = async (res: Response, status: number, code: string) => {
    const body = (await res.json()) as { error: unknown };
    expect({ status: res.status, error: body.error }).toMatchObject({ status, error: { code, type: expect.any(String), message: expect.any(String) } });
    return body;
  };
  /** database statements made to decide calls (audit writes, which refusals also make, excluded) */
  /** statements a call's decision made; not the background writes (audit batches, lease settles and reconciliations) */
  const BACKGROUND = ['audit_insert', 'spend_settle', 'spend_settle_events', 'spend_reconcile'];
  const decisionQueries = (p: ProxyHarness) => p.metric('keyvault_proxy_db_queries_total', (l) => !BACKGROUND.includes(l.op));

  it('accepts the vault key as Bearer, x-api-key or Basic password', async () => {
    const vk = await issue();
    for (const headers of [
      { authorization: `Bearer ${vk.token}` } as Record<string, string>,
      { 'x-api-key': vk.token },
      { authorization: `Basic ${Buffer.from(`ACxxxx:${vk.token}`).toString('base64')}` },
    ]) {
      expect((await chat(a, headers)).status).toBe(200);
    }
    expect(stub.seen().every((r) => r.headers.authorization === 'Bearer sk-real-auth' && r.headers['x-api-key'] === undefined)).toBe(true);
  });

  it('refuses no key and a malformed key with 401 invalid_vault_key', async () => {
    await expectError(await chat(a, {}), 401, 'invalid_vault_key');
    await expectError(await chat(a, { authorization: 'Bearer sk-not-a-vault-key' }), 401, 'invalid_vault_key');
    await expectError(await chat(a, { authorization: 'Bearer vault_key_abc.def.ghi' }), 401, 'invalid_vault_key');
  });

  it('refuses a vault key in the query string even with a valid header, and never records its value', async () => {
    const vk = await issue();
    stub.clear();
    const refusals = () => a.metric('keyvault_proxy_unauthenticated_refusals_total', (l) => l.code === 'invalid_vault_key');
    const before = await refusals();
    const res = await chat(a, { authorization: `Bearer ${vk.token}` }, `/openai/v1/chat/completions?api_key=${vk.token}`);
    await expectError(res, 401, 'invalid_vault_key');
    expect(stub.seen()).toHaveLength(0);
    // counted, never written as a row: no place where the key's value could be kept
    expect(await refusals()).toBe(before + 1);
    const rows = await fx.query<{ path: string }>(`SELECT path FROM audit_log WHERE path LIKE '%api_key%' OR path LIKE '%vault_key_%'`);
    expect(rows).toEqual([]);
  });

  it('refuses forged, tampered, expired and wrong-kid tokens without a single database query', async () => {
    const vk = await issue();
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const claims = { sub: vk.id, ten: tenantId, ven: 'openai', exp };
    // an attacker's own key claiming our kid
    const signingKey = await fx.signingKey();
    const attacker = generateSigningKeyPair(signingKey.kid);
    const forged = await fx.sign(attacker, claims);
    // a real token with its payload swapped
    const [h, , s] = vk.token.slice('vault_key_'.length).split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, sub: newId('vaultKey') })).toString('base64url');
    const tampered = `vault_key_${h}.${payload}.${s}`;
    const expired = await fx.sign(signingKey, { ...claims, exp: Math.floor(Date.now() / 1000) - 5 });
    const wrongKid = () => fx.sign(generateSigningKeyPair(newId('signingKey')), claims);

    // A kid nobody knows may make one instance reload its signing keys once in a while (a key
    // created a moment ago); after that, refusals are pure CPU.
    await expectError(await chat(a, { authorization: `Bearer ${await wrongKid()}` }), 401, 'invalid_vault_key');
    const before = await decisionQueries(a);
    const refusals = () => a.metric('keyvault_proxy_unauthenticated_refusals_total');
    const refusedBefore = await refusals();
    stub.clear();
    for (let i = 0; i < 3; i++) {
      await expectError(await chat(a, { authorization: `Bearer ${forged}` }), 401, 'invalid_vault_key');
      await expectError(await chat(a, { authorization: `Bearer ${tampered}` }), 401, 'invalid_vault_key');
      await expectError(await chat(a, { authorization: `Bearer ${expired}` }), 401, 'vault_key_expired');
      await expectError(await chat(a, { authorization: `Bearer ${await wrongKid()}` }), 401, 'invalid_vault_key');
    }
    expect(await decisionQueries(a)).toBe(before);
    expect(stub.seen()).toHaveLength(0);

    // counted, not written one row each: refusals of unknown callers cannot crowd out paid calls' rows
    expect(await refusals()).toBe(refusedBefore + 12);
  });

  it('refuses a key whose row says it expired (401 vault_key_expired)', async () => {
    const vk = await issue();
    await fx.query(`UPDATE vault_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [vk.id]);
    await expectError(await chat(b, { authorization: `Bearer ${vk.token}` }), 401, 'vault_key_expired');
  });

  it('refuses a revoked key on the very next call, on both instances', async () => {
    const vk = await issue();
    const auth = { authorization: `Bearer ${vk.token}` };
    expect((await chat(a, auth)).status).toBe(200);
    expect((await chat(b, auth)).status).toBe(200);
    const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
    await withTenant(api.app.get(DataSource), tenantId, (m) => revokeVaultKeys(m, tenantId, { ids: [vk.id] }, 'test'));
    // the line that must hold: no call once an instance has seen the revocation's notice, which
    // commits with it and arrives over loopback within moments (on a loaded machine, after the api answered)
    await eventually(async () => notices.mock.calls.filter(([p]) => p.includes(vk.id)).length >= 2 || undefined, 'the notice on both instances');
    notices.mockRestore();
    stub.clear();
    await expectError(await chat(a, auth), 401, 'vault_key_revoked');
    await expectError(await chat(b, auth), 401, 'vault_key_revoked');
    expect(stub.seen()).toHaveLength(0);
  });

  it('refuses the keys of a disabled tenant on the very next call, on both instances, and takes them back when enabled', async () => {
    const other = await fx.tenant('Soon disabled');
    const cred = (await fx.credential(other, { vendor: 'openai', keys: ['sk-real-other'] })).id;
    const vk = await issue(other, cred);
    const auth = { authorization: `Bearer ${vk.token}` };
    expect((await chat(a, auth)).status).toBe(200);
    expect((await chat(b, auth)).status).toBe(200);
    const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
    await api.admin().post(`/tenants/${other}/disable`).expect(200);
    await eventually(async () => notices.mock.calls.filter(([p]) => p.includes(other)).length >= 2 || undefined, 'the notice on both instances');
    notices.mockRestore();
    await expectError(await chat(a, auth), 401, 'tenant_disabled');
    await expectError(await chat(b, auth), 401, 'tenant_disabled');
    await api.admin().post(`/tenants/${other}/enable`).expect(200);
    // Taking keys back is liveness, not safety: it follows the enable notice, which on a loaded
    // machine may land a moment after the api answered.
    for (const proxy of [a, b]) await eventually(async () => (await chat(proxy, auth)).status === 200, 'the enabled tenant', 6_000);
  });

  it('verifies keys after a signing-key rotation: new ones once the rotation notice lands, former ones still', async () => {
    const before = await issue();
    expect((await chat(a, { authorization: `Bearer ${before.token}` })).status).toBe(200);
    const formerKid = (await fx.signingKey()).kid;
    await api.admin().post('/signing-keys/rotate').expect(200);
    const after = await issue();
    expect((await fx.signingKey()).kid).not.toBe(formerKid);
    for (const proxy of [a, b]) {
      // The rotation's NOTIFY normally lands within milliseconds; a token that outruns it on a
      // loaded machine is refused until the notice lands or the 5 s flood throttle lets its unknown
      // kid trigger a reload, whichever comes first.
      await eventually(async () => (await chat(proxy, { authorization: `Bearer ${after.token}` })).status === 200, 'the new signing key', 6_000);
      expect((await chat(proxy, { authorization: `Bearer ${before.token}` })).status).toBe(200);
    }
  });

  it('picks up a signing key whose notice it missed, when a token names it', async () => {
    const pair = generateSigningKeyPair(newId('signingKey'));
    const sealed = new MasterKeyring(api.config.KEYVAULT_MASTER_KEY).wrap(exportPrivateKey(pair.privateKey), aad.signingKey(pair.kid));
    // written without NOTIFY: only the unknown kid can make the proxy reload (at most once per few seconds)
    await fx.query(`INSERT INTO signing_keys (id, algorithm, public_key_pem, private_key_sealed, master_key_id, status) VALUES ($1, $2, $3, $4, $5, 'retired')`, [
      pair.kid, VAULT_KEY_ALG, exportPublicKey(pair.publicKey), sealed.wrapped, sealed.masterKeyId,
    ]);
    const vk = await issue();
    const token = await fx.sign(pair, { sub: vk.id, ten: tenantId, ven: 'openai', exp: Math.floor(Date.now() / 1000) + 600 });
    await eventually(async () => (await chat(b, { authorization: `Bearer ${token}` })).status === 200, 'the new signing key to be picked up', 10_000);
  });
});
