import { Pool } from 'pg';
import { aad, importPrivateKey, importPublicKey, MasterKeyring, signVaultKey, type SigningKeyPair } from '@keyvault/crypto';
import { createdSecrets } from '@keyvault/testing';
import type { ApiHarness } from './api';

/**
 * What proxy tests set up, through the real api (admin acting inside a tenant): tenants,
 * credential profiles, provider-key rotation, vault keys. Plus what no api call gives, for
 * tests that must forge: the api's current signing key (unsealed from its row with the master
 * key, as the api does) to sign tokens with chosen claims, and direct queries on the database.
 */
export interface ProxyFixtures {
  tenant(name?: string): Promise<string>;
  /** POST /credentials; `keyIds` in failover order */
  credential(
    tenantId: string,
    p: { vendor: string; keys: string[]; strategy?: 'round_robin' | 'failover'; baseUrl?: string },
  ): Promise<{ id: string; keyIds: string[] }>;
  /** POST /credentials/{id}/keys; returns the new key's id */
  addKey(tenantId: string, credentialId: string, key: string): Promise<string>;
  /** DELETE /credentials/{id}/keys/{key_id} */
  retireKey(tenantId: string, credentialId: string, keyId: string): Promise<void>;
  /** POST /vault/keys (`capUsd` null: no daily cap, for keys with a `total_usd_cap` in `extra`) */
  vaultKey(
    tenantId: string,
    p: { vendor: string; credentialId: string; capUsd: number | null; allowed: string[]; expiresIn?: string; label?: string; extra?: Record<string, unknown> },
  ): Promise<{ id: string; token: string }>;
  /** the api's active signing key */
  signingKey(): Promise<SigningKeyPair>;
  /** a token with any claims, signed with any pair (forgeries, expired keys) */
  sign(pair: SigningKeyPair, claims: { sub: string; ten: string; ven: string; exp: number }): Promise<string>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

let names = 0;

export async function proxyFixtures(api: ApiHarness): Promise<ProxyFixtures> {
  const pool = new Pool({ connectionString: api.db.url, max: 4 });
  // pool.end() resolves once its connections are told to close, not once they have: the database
  // dropped right after (WITH FORCE) can still terminate one (57P01), and an idle connection's error
  // with no listener on the pool is an uncaught exception that fails the whole run (CI: outage.e2e-spec)
  pool.on('error', () => undefined);
  const keyring = new MasterKeyring(api.config.KEYVAULT_MASTER_KEY);
  const query = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];
  const inTenant = (tenantId: string) => ({
    post: (path: string) => api.admin().post(path).set('Keyvault-Tenant', tenantId),
    delete: (path: string) => api.admin().delete(path).set('Keyvault-Tenant', tenantId),
  });
  const expect201 = (what: string, res: { status: number; body: unknown }, status = 201) => {
    if (res.status !== status) throw new Error(`${what} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown>;
  };
  type KeyView = { id: string; status: string };

  return {
    query,
    async tenant(name = 'Client') {
      return expect201('POST /tenants', await api.admin().post('/tenants').send({ name })).id as string;
    },
    async credential(tenantId, p) {
      const body = expect201(
        'POST /credentials',
        await inTenant(tenantId)
          .post('/credentials')
          .send({ name: `${p.vendor}_${++names}`, vendor: p.vendor, keys: p.keys, strategy: p.strategy ?? 'round_robin', ...(p.baseUrl ? { base_url: p.baseUrl } : {}) }),
      );
      return { id: body.id as string, keyIds: (body.keys as KeyView[]).map((k) => k.id) };
    },
    async addKey(tenantId, credentialId, key) {
      const body = expect201('POST /credentials/{id}/keys', await inTenant(tenantId).post(`/credentials/${credentialId}/keys`).send({ key }));
      return (body.keys as KeyView[]).at(-1)!.id;
    },
    async retireKey(tenantId, credentialId, keyId) {
      expect201('DELETE /credentials/{id}/keys/{key_id}', await inTenant(tenantId).delete(`/credentials/${credentialId}/keys/${keyId}`), 200);
    },
    async vaultKey(tenantId, p) {
      const body = expect201(
        'POST /vault/keys',
        await inTenant(tenantId)
          .post('/vault/keys')
          .send({ vendor: p.vendor, credential: p.credentialId, ...(p.capUsd === null ? {} : { daily_usd_cap: p.capUsd }), allowed_endpoints: p.allowed, expires_in: p.expiresIn ?? '1h', ...(p.label ? { label: p.label } : {}), ...p.extra }),
      );
      return { id: body.id as string, token: body.vault_key as string };
    },
    async signingKey() {
      const [row] = await query<{ id: string; public_key_pem: string; private_key_sealed: Buffer; master_key_id: string }>(
        `SELECT id, public_key_pem, private_key_sealed, master_key_id FROM signing_keys WHERE status = 'active' ORDER BY id DESC LIMIT 1`,
      );
      const der = keyring.unwrap(row.private_key_sealed, row.master_key_id, aad.signingKey(row.id));
      return { kid: row.id, privateKey: importPrivateKey(der), publicKey: importPublicKey(row.public_key_pem) };
    },
    async sign(pair, c) {
      // a forgery is a token all the same: it must not reach a log either
      const token = await signVaultKey(pair, { ...c, iat: Math.floor(Date.now() / 1000) });
      createdSecrets.add(token);
      return token;
    },
    close: () => pool.end(),
  };
}
