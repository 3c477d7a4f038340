import { createPublicKey } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { decodeProtectedHeader } from 'jose';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiApp } from '../../../apps/api/src/app.factory';
import { aad, importPrivateKey, importPublicKey, MasterKeyring, verifyVaultKey, VAULT_KEY_PREFIX, type VaultKeyVerdict } from '@keyvault/crypto';
import { CHANNELS, dataSourceOptions, runMigrations } from '@keyvault/db';
import { createdSecrets, createTestDatabase, queryDb, testApiConfig, type TestDatabase } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { createCredentialProfile } from '../../../test/harness/fixtures';
import { NotificationRecorder } from '../../../test/harness/notifications';

const SEED = {
  vendor: 'stripe',
  daily_usd_cap: 100,
  allowed_endpoints: ['POST /v1/payment_intents'],
  expires_in: '2h',
  label: 'dify-chat-42-s1',
};

interface SigningKeyRow {
  id: string;
  status: string;
  public_key_pem: string;
  private_key_sealed: Buffer;
  master_key_id: string;
}

const kidOf = (token: string) => decodeProtectedHeader(token.slice(VAULT_KEY_PREFIX.length)).kid;
const signingKeys = (url: string) =>
  queryDb<SigningKeyRow>(url, 'SELECT id, status, public_key_pem, private_key_sealed, master_key_id FROM signing_keys ORDER BY id');
const verifyWith = (token: string, rows: SigningKeyRow[]): Promise<VaultKeyVerdict> =>
  verifyVaultKey(token, new Map(rows.map((r) => [r.id, importPublicKey(r.public_key_pem)])));

describe('signing keys', () => {
  let api: ApiHarness;
  let tenantId: string;
  const issue = async (): Promise<string> => {
    const res = await api.admin().post('/vault/keys').set('Keyvault-Tenant', tenantId).send(SEED).expect(201);
    createdSecrets.add(res.body.vault_key);
    return res.body.vault_key;
  };

  beforeAll(async () => {
    api = await startApi();
    tenantId = (await api.admin().post('/tenants').send({ name: 'Signer' }).expect(201)).body.id;
    await createCredentialProfile(api, tenantId, { name: 'sig_stripe', vendor: 'stripe', isDefault: true });
  });
  afterAll(async () => api?.close());

  it('starts with one active key, its private half sealed under the master key', async () => {
    const rows = await signingKeys(api.db.url);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ status: 'active', master_key_id: new MasterKeyring(api.config.KEYVAULT_MASTER_KEY).currentId });
    expect(row.id).toMatch(/^sig_[0-9a-z]{26}$/);
    expect(row.public_key_pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    // it opens only with the master key and this kid as AAD, to the pair of the public key
    const keyring = new MasterKeyring(api.config.KEYVAULT_MASTER_KEY);
    const der = keyring.unwrap(row.private_key_sealed, row.master_key_id, aad.signingKey(row.id));
    const privateKey = importPrivateKey(der);
    expect(privateKey.asymmetricKeyType).toBe('ed25519');
    expect(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })).toEqual(
      importPublicKey(row.public_key_pem).export({ format: 'der', type: 'spki' }),
    );
    expect(() => keyring.unwrap(row.private_key_sealed, row.master_key_id, aad.signingKey('sig_other'))).toThrow();

    expect(kidOf(await issue())).toBe(row.id);
  });

  it('GET /signing-keys lists kid, status and public key, never the private part', async () => {
    const res = await api.admin().get('/signing-keys').expect(200);
    const [row] = await signingKeys(api.db.url);
    expect(res.body).toMatchObject({ object: 'list', has_more: false });
    expect(res.body.data[0]).toEqual({
      id: row.id,
      object: 'signing_key',
      kid: row.id,
      algorithm: 'EdDSA',
      status: 'active',
      public_key: row.public_key_pem,
      created_at: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/private|sealed|master/i);
    expect(JSON.stringify(res.body)).not.toContain(row.private_key_sealed.toString('base64'));
  });

  it('is for the admin only', async () => {
    const key = (await api.admin().post(`/tenants/${tenantId}/api-keys`).send({ name: 'all scopes' }).expect(201)).body.api_key;
    for (const req of [api.http.get('/signing-keys'), api.http.post('/signing-keys/rotate')]) {
      const res = await req.set('Authorization', `Bearer ${key}`).expect(403);
      expect(res.body.error.code).toBe('admin_only');
    }
  });

  it('rotation signs new tokens with a new kid, announces it, and the old key still verifies its tokens', async () => {
    const notices = await NotificationRecorder.listen(api.db.url, CHANNELS.signingKeys);
    try {
      const before = await issue();
      const oldKid = kidOf(before);

      const res = await api.admin().post('/signing-keys/rotate').expect(200);
      expect(res.body).toMatchObject({ object: 'signing_key', status: 'active', algorithm: 'EdDSA' });
      const newKid: string = res.body.id;
      expect(newKid).not.toBe(oldKid);
      expect(await notices.received()).toEqual([{ kid: newKid }]);

      const rows = await signingKeys(api.db.url);
      expect(rows.map((r) => [r.id, r.status])).toEqual([
        [oldKid, 'retired'],
        [newKid, 'active'],
      ]);
      const listed = await api.admin().get('/signing-keys').expect(200);
      expect(listed.body.data.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([
        [newKid, 'active'],
        [oldKid, 'retired'],
      ]);

      const after = await issue();
      expect(kidOf(after)).toBe(newKid);
      const oldRow = rows.filter((r) => r.id === oldKid);
      const newRow = rows.filter((r) => r.id === newKid);
      expect((await verifyWith(before, oldRow)).ok).toBe(true);
      expect((await verifyWith(after, newRow)).ok).toBe(true);
      // each token verifies only with the key that signed it
      expect(await verifyWith(before, newRow)).toEqual({ ok: false, reason: 'invalid_vault_key' });
      expect(await verifyWith(after, oldRow)).toEqual({ ok: false, reason: 'invalid_vault_key' });
      // with all public keys, as the proxy holds them, both verify
      expect((await verifyWith(before, rows)).ok).toBe(true);
      expect((await verifyWith(after, rows)).ok).toBe(true);
    } finally {
      await notices.close();
    }
  });
});

describe('signing keys across api instances', () => {
  let db: TestDatabase;
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
  });

  it('two instances starting together create exactly one active key, and follow each other’s rotations', async () => {
    db = await createTestDatabase();
    const migrator = await new DataSource(dataSourceOptions({ url: db.url, poolSize: 2 })).initialize();
    await runMigrations(migrator);
    await migrator.destroy();

    // Hold both instances at their first read of signing_keys, then let them go at once: without
    // a lock around "read, then create if none", both would read nothing and create a key.
    const gate = new Client({ connectionString: db.url });
    await gate.connect();
    await gate.query('BEGIN');
    await gate.query('LOCK TABLE signing_keys IN ACCESS EXCLUSIVE MODE');
    const configA = testApiConfig(db.url);
    // same deployment: same master key and admin token
    const configB = testApiConfig(db.url, { KEYVAULT_MASTER_KEY: configA.KEYVAULT_MASTER_KEY, KEYVAULT_ADMIN_TOKEN: configA.KEYVAULT_ADMIN_TOKEN });
    const starting = Promise.all([createApiApp(configA), createApiApp(configB)]);
    await vi.waitFor(
      async () => {
        const [{ waiting }] = await queryDb<{ waiting: number }>(
          db.url,
          `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(waiting).toBe(2);
      },
      { timeout: 20_000, interval: 20 },
    );
    await gate.query('COMMIT');
    await gate.end();
    const [a, b] = await starting;
    apps.push(a, b);

    const rows = await signingKeys(db.url);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('active');

    const admin = (app: INestApplication) => {
      const http = request(app.getHttpServer());
      const auth = { Authorization: `Bearer ${configA.KEYVAULT_ADMIN_TOKEN}` };
      return { post: (p: string) => http.post(p).set(auth), delete: (p: string) => http.delete(p).set(auth) };
    };
    const tenantId = (await admin(a).post('/tenants').send({ name: 'Two instances' }).expect(201)).body.id;
    await createCredentialProfile({ admin: () => admin(a) }, tenantId, { name: 'two_stripe', vendor: 'stripe', isDefault: true });
    const issueOn = async (app: INestApplication) => {
      const res = await admin(app).post('/vault/keys').set('Keyvault-Tenant', tenantId).send(SEED).expect(201);
      createdSecrets.add(res.body.vault_key);
      return kidOf(res.body.vault_key);
    };
    expect(await issueOn(a)).toBe(rows[0].id);
    expect(await issueOn(b)).toBe(rows[0].id);

    // a rotation on A reaches B through NOTIFY
    const rotated: string = (await admin(a).post('/signing-keys/rotate').expect(200)).body.id;
    expect(await issueOn(a)).toBe(rotated);
    await vi.waitFor(async () => expect(await issueOn(b)).toBe(rotated), { timeout: 10_000, interval: 50 });
    const after = await signingKeys(db.url);
    expect(after.filter((r) => r.status === 'active').map((r) => r.id)).toEqual([rotated]);
  });
});
