import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOpenAiStub, type OpenAiStub } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../../../test/harness/proxy-fixtures';
import { eventually } from '../../../test/harness/wait';
import { SigningKeys } from '../src/auth/signing-keys';
import { VaultKeyAuth } from '../src/auth/vault-key-auth';
import { ProxyStore } from '../src/store/proxy-store';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

/**
 * The narrowest window: a proxy instance reads a key's row, the revocation (or the tenant's
 * disabling) commits and its notice arrives while that read is still on its way back. The
 * instance has seen the notice by the time it decides, so it must not admit the call on the
 * row it read before.
 */
describe('no call is admitted on state older than a notice the instance has seen', () => {
  let api: ApiHarness;
  let stub: OpenAiStub;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  let credentialId: string;
  let tenantId: string;

  beforeAll(async () => {
    api = await startApi();
    stub = await startOpenAiStub();
    fx = await proxyFixtures(api);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_OPENAI: stub.url });
    tenantId = await fx.tenant('Windows');
    credentialId = (await fx.credential(tenantId, { vendor: 'openai', keys: ['sk-real-windows'] })).id;
  });
  afterAll(async () => {
    await proxy?.close();
    await stub?.close();
    await fx?.close();
    await api?.close();
  });
  afterEach(() => vi.restoreAllMocks());

  /** Holds the next read of a key's row, after Postgres answered it, until `release`. */
  function holdNextStateRead(op = 'vault_key_state'): { read: Promise<void>; release: () => void } {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let answered!: () => void;
    const read = new Promise<void>((r) => (answered = r));
    const real = ProxyStore.prototype.query;
    let held = false;
    const heldOp = op;
    vi.spyOn(ProxyStore.prototype, 'query').mockImplementation(async function (this: ProxyStore, op: string, sql: string, params?: unknown[]) {
      const rows = await real.call(this, op, sql, params);
      if (op === heldOp && !held) {
        held = true;
        answered();
        await gate;
      }
      return rows as never;
    } as typeof real);
    return { read, release };
  }

  const chat = (token: string) =>
    fetch(`${proxy.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: CHAT });

  for (const [what, change, code] of [
    ['a revoked key', (id: string) => api.admin().delete(`/vault/keys/${id}`).set('Keyvault-Tenant', tenantId).expect(200), 'vault_key_revoked'],
  ] as const) {
    it(`${what} is refused when its notice overtook the read`, async () => {
      const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
      const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
      const hold = holdNextStateRead();
      const pending = chat(vk.token);
      await hold.read; // the row, as it was before the change, is read and held
      await change(vk.id);
      await eventually(async () => notices.mock.calls.some(([p]) => p.includes(vk.id)) || undefined, 'the notice reached the proxy');
      hold.release();
      const res = await pending;
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    });
  }

  it("a disabled tenant's key is refused when the notice overtook the read", async () => {
    const other = await fx.tenant('Windows disabled');
    const cred = (await fx.credential(other, { vendor: 'openai', keys: ['sk-real-windows-2'] })).id;
    const vk = await fx.vaultKey(other, { vendor: 'openai', credentialId: cred, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    const notices = vi.spyOn(VaultKeyAuth.prototype as unknown as { invalidate(p: string): void }, 'invalidate');
    const hold = holdNextStateRead();
    const pending = chat(vk.token);
    await hold.read;
    await api.admin().post(`/tenants/${other}/disable`).expect(200);
    await eventually(async () => notices.mock.calls.some(([p]) => p.includes(other)) || undefined, 'the notice reached the proxy');
    hold.release();
    const res = await pending;
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('tenant_disabled');
  });

  it('a signing-key notice heard while the keys were being read is applied before the next verification', async () => {
    const keys = proxy.proxy.app.get(SigningKeys);
    const hold = holdNextStateRead('signing_keys');
    const stale = keys.reload(); // reads the keys as they are before the rotation, and is held
    await hold.read;
    await api.admin().post('/signing-keys/rotate').expect(200);
    await eventually(async () => keys.pending !== null || undefined, 'the notice reached the proxy');
    hold.release();
    await stale;
    // a token of the new key, verified on this instance without any wait for a timer
    const vk = await fx.vaultKey(tenantId, { vendor: 'openai', credentialId, capUsd: 5, allowed: ['POST /v1/chat/completions'] });
    const res = await chat(vk.token);
    expect(res.status).toBe(200);
  });
});
