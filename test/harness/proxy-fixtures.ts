import { Pool } from 'pg';
import {
  aad,
  exportPrivateKey,
  exportPublicKey,
  generateSigningKeyPair,
  MasterKeyring,
  newId,
  sealProviderKey,
  signVaultKey,
  unwrapTenantDataKey,
  VAULT_KEY_ALG,
  type SigningKeyPair,
} from '@keyvault/crypto';
import { CHANNELS } from '@keyvault/db';
import { usdToMicros } from '@keyvault/policy';
import type { ApiHarness } from './api';

/**
 * Writes the rows that the api's POST /credentials and POST /vault/keys write (profiles, sealed
 * provider keys, a signing key, vault keys), with the same crypto and the same notices, so the
 * proxy can be tested against them. Tenants come from the real admin API.
 */
export interface ProxyFixtures {
  signingKey: SigningKeyPair;
  tenant(name?: string): Promise<string>;
  credential(tenantId: string, p: { vendor: string; keys: string[]; strategy?: 'round_robin' | 'failover'; baseUrl?: string }): Promise<{ id: string; keyIds: string[] }>;
  /** adds one provider key to a profile and tells the proxies, like POST /credentials/{id}/keys */
  addKey(tenantId: string, credentialId: string, key: string): Promise<string>;
  /** retires one provider key and tells the proxies, like DELETE /credentials/{id}/keys/{key_id} */
  retireKey(credentialId: string, keyId: string): Promise<void>;
  vaultKey(
    tenantId: string,
    p: { vendor: string; credentialId: string; capUsd: number; allowed: string[]; expiresInSeconds?: number; label?: string },
  ): Promise<{ id: string; token: string }>;
  /** a token for a key id and tenant, signed with any pair and expiry (forgeries, expired keys) */
  sign(pair: SigningKeyPair, claims: { sub: string; ten: string; ven: string; exp: number }): Promise<string>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function proxyFixtures(api: ApiHarness): Promise<ProxyFixtures> {
  const pool = new Pool({ connectionString: api.db.url, max: 4 });
  const keyring = new MasterKeyring(api.config.KEYVAULT_MASTER_KEY);
  const query = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];

  const signingKey = generateSigningKeyPair(newId('signingKey'));
  const sealed = keyring.wrap(exportPrivateKey(signingKey.privateKey), aad.signingKey(signingKey.kid));
  await query(
    `INSERT INTO signing_keys (id, algorithm, public_key_pem, private_key_sealed, master_key_id, status) VALUES ($1, $2, $3, $4, $5, 'active')`,
    [signingKey.kid, VAULT_KEY_ALG, exportPublicKey(signingKey.publicKey), sealed.wrapped, sealed.masterKeyId],
  );
  await query('SELECT pg_notify($1, $2)', [CHANNELS.signingKeys, JSON.stringify({ kid: signingKey.kid })]);

  async function dataKey(tenantId: string): Promise<{ key: Buffer; version: number }> {
    const [t] = await query<{ data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }>(
      'SELECT data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1',
      [tenantId],
    );
    const key = unwrapTenantDataKey(keyring, { id: tenantId, dataKeyWrapped: t.data_key_wrapped, dataKeyMasterKeyId: t.data_key_master_key_id, dataKeyVersion: t.data_key_version });
    return { key, version: t.data_key_version };
  }

  async function insertKey(tenantId: string, credentialId: string, plaintext: string, position: number): Promise<string> {
    const id = newId('credentialKey');
    const dk = await dataKey(tenantId);
    await query(
      `INSERT INTO credential_keys (id, tenant_id, credential_id, sealed, data_key_version, last4, status, position) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)`,
      [id, tenantId, credentialId, sealProviderKey(dk.key, tenantId, id, plaintext), dk.version, plaintext.slice(-4), position],
    );
    return id;
  }

  const sign = (pair: SigningKeyPair, c: { sub: string; ten: string; ven: string; exp: number }) =>
    signVaultKey(pair, { ...c, iat: Math.floor(Date.now() / 1000) });

  return {
    signingKey,
    query,
    sign,
    async tenant(name = 'Client') {
      const res = await api.admin().post('/tenants').send({ name });
      if (res.status !== 201) throw new Error(`tenant: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async credential(tenantId, p) {
      const id = newId('credential');
      await query(
        `INSERT INTO credential_profiles (id, tenant_id, name, vendor, strategy, base_url, is_default) VALUES ($1, $2, $3, $4, $5, $6, false)`,
        [id, tenantId, `${p.vendor}_${id.slice(-6)}`, p.vendor, p.strategy ?? 'round_robin', p.baseUrl ?? null],
      );
      const keyIds: string[] = [];
      for (const [i, k] of p.keys.entries()) keyIds.push(await insertKey(tenantId, id, k, i));
      return { id, keyIds };
    },
    async addKey(tenantId, credentialId, key) {
      const [{ next }] = await query<{ next: number }>('SELECT coalesce(max(position) + 1, 0) AS next FROM credential_keys WHERE credential_id = $1', [credentialId]);
      const id = await insertKey(tenantId, credentialId, key, next);
      await query('SELECT pg_notify($1, $2)', [CHANNELS.credentials, JSON.stringify({ credential_id: credentialId })]);
      return id;
    },
    async retireKey(credentialId, keyId) {
      await query(`UPDATE credential_keys SET status = 'retired', retired_at = now() WHERE id = $1`, [keyId]);
      await query('SELECT pg_notify($1, $2)', [CHANNELS.credentials, JSON.stringify({ credential_id: credentialId })]);
    },
    async vaultKey(tenantId, p) {
      const id = newId('vaultKey');
      const exp = Math.floor(Date.now() / 1000) + (p.expiresInSeconds ?? 3600);
      await query(
        `INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_micros, allowed_endpoints, expires_at, label)
         VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), $8)`,
        [id, tenantId, p.credentialId, p.vendor, usdToMicros(p.capUsd)!.toString(), p.allowed, exp, p.label ?? null],
      );
      return { id, token: await sign(signingKey, { sub: id, ten: tenantId, ven: p.vendor, exp }) };
    },
    close: () => pool.end(),
  };
}
