import { randomBytes } from 'node:crypto';
import { Client, type Notification } from 'pg';
import type request from 'supertest';
import { MasterKeyring, newId, openProviderKey, unwrapTenantDataKey, type Secret } from '@keyvault/crypto';
import { createdSecrets, queryDb } from '@keyvault/testing';
import type { ApiHarness } from '../../../../test/harness/api';

/** A fresh fake provider key, remembered so the log and dump scans can look for it. */
export function providerKey(prefix = 'sk-test-'): string {
  const key = prefix + randomBytes(24).toString('hex');
  createdSecrets.add(key);
  return key;
}

export interface TenantWithKeys {
  id: string;
  /** `kv_live_...` with every scope */
  full: string;
  /** supertest call with the full-scope key set */
  as: (method: 'get' | 'post' | 'patch' | 'delete', path: string) => request.Test;
}

/** A tenant (made by the admin) and a full-scope API key acting inside it. */
export async function tenantWithKey(api: ApiHarness, name: string): Promise<TenantWithKeys> {
  const { body: t } = await api.admin().post('/tenants').send({ name }).expect(201);
  const full = await apiKey(api, t.id);
  return { id: t.id, full, as: (method, path) => api.http[method](path).set('Authorization', `Bearer ${full}`) };
}

export async function apiKey(api: ApiHarness, tenantId: string, scopes?: string[]): Promise<string> {
  const { body } = await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'test', ...(scopes ? { scopes } : {}) }).expect(201);
  createdSecrets.add(body.api_key);
  return body.api_key;
}

/**
 * A vault key row written straight into the table (the vault keys api is built elsewhere):
 * enough for "is this profile in use" checks.
 */
export async function insertVaultKey(
  dbUrl: string,
  v: { tenantId: string; credentialId: string; vendor?: string; expiresInSeconds?: number; revoked?: boolean },
): Promise<string> {
  const id = newId('vaultKey');
  await queryDb(
    dbUrl,
    `INSERT INTO vault_keys (id, tenant_id, credential_id, vendor, daily_cap_nanos, allowed_endpoints, expires_at, revoked_at)
     VALUES ($1, $2, $3, $4, 100000000000, '{"POST /v1/chat/completions"}', now() + make_interval(secs => $5), CASE WHEN $6 THEN now() END)`,
    [id, v.tenantId, v.credentialId, v.vendor ?? 'openai', v.expiresInSeconds ?? 3600, v.revoked ?? false],
  );
  return id;
}

/** Decrypts one stored provider key the way the proxy does: tenant data key, then the key. */
export async function decryptStoredKey(dbUrl: string, keyring: MasterKeyring, credentialKeyId: string): Promise<Secret> {
  const [row] = await queryDb<{ tenant_id: string; sealed: Buffer; data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }>(
    dbUrl,
    `SELECT ck.tenant_id, ck.sealed, t.data_key_wrapped, t.data_key_master_key_id, t.data_key_version
       FROM credential_keys ck JOIN tenants t ON t.id = ck.tenant_id WHERE ck.id = $1`,
    [credentialKeyId],
  );
  const dataKey = unwrapTenantDataKey(keyring, {
    id: row.tenant_id,
    dataKeyWrapped: row.data_key_wrapped,
    dataKeyMasterKeyId: row.data_key_master_key_id,
    dataKeyVersion: row.data_key_version,
  });
  return openProviderKey(dataKey, row.tenant_id, credentialKeyId, row.sealed);
}

/** LISTENs on a channel and lets a test wait for the notices it expects (no sleeps). */
export async function listen(dbUrl: string, channel: string) {
  const client = new Client({ connectionString: dbUrl });
  await client.connect();
  const received: unknown[] = [];
  const waiters: { match: (p: unknown) => boolean; resolve: (p: unknown) => void }[] = [];
  client.on('notification', (n: Notification) => {
    const payload = JSON.parse(n.payload ?? 'null');
    received.push(payload);
    for (const w of waiters.filter((w) => w.match(payload))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(payload);
    }
  });
  await client.query(`LISTEN ${channel}`);
  return {
    received,
    /** Resolves with the first notice (already received or still to come) that matches. */
    next(match: (p: unknown) => boolean): Promise<unknown> {
      const seen = received.find(match);
      if (seen !== undefined) {
        received.splice(received.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve) => waiters.push({ match, resolve: (p) => (received.splice(received.indexOf(p), 1), resolve(p)) }));
    },
    close: () => client.end(),
  };
}
