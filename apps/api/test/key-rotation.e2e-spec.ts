import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aad,
  exportPrivateKey,
  exportPublicKey,
  generateSigningKeyPair,
  masterKeyId,
  MasterKeyring,
  newId,
  seal,
  unwrapTenantDataKey,
} from '@keyvault/crypto';
import { CHANNELS } from '@keyvault/db';
import { createdSecrets, queryDb, testApiConfig } from '@keyvault/testing';
import { createApiApp } from '../src/app.factory';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { listen, providerKey } from './support/credential-fixtures';
import { startReaders, type Expected } from './support/readers';

const ROTATE = join(__dirname, '../../../dist/apps/api/apps/api/src/cli/rotate-master-key.js');
const TENANTS = 24;
const READERS = 4;

/** Runs the compiled `npm run rotate-master-key` without blocking this process (the readers keep going). */
function rotateMasterKey(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(ROTATE)) throw new Error(`${ROTATE} is missing: run \`npm run build\` first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ROTATE, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

const newMasterKey = () => {
  const key = randomBytes(32).toString('base64');
  createdSecrets.add(key);
  return key;
};

describe('key rotation', () => {
  let api: ApiHarness;
  const A = () => api.config.KEYVAULT_MASTER_KEY;
  const expected: Expected = { providerKeys: new Map(), addedProviderKeys: new Set(), webhookSecrets: new Map(), signingKeys: new Map() };
  const tenants: string[] = [];
  const credentials = new Map<string, string>(); // tenant id -> credential id

  const rotateDataKey = (http: TestAgent, tenantId: string) =>
    http.post(`/tenants/${tenantId}/rotate-data-key`).set('Authorization', `Bearer ${api.config.KEYVAULT_ADMIN_TOKEN}`);

  const countRows = async () => {
    const [r] = await queryDb<{ keys: number; hooks: number; signing: number }>(
      api.db.url,
      'SELECT (SELECT count(*)::int FROM credential_keys) AS keys, (SELECT count(*)::int FROM webhooks) AS hooks, (SELECT count(*)::int FROM signing_keys) AS signing',
    );
    return r.keys + r.hooks + r.signing;
  };

  /** Full passes of a reader holding only `keyring` (at least one): every stored secret must open. */
  const readEverythingWith = async (keyring: MasterKeyring) => {
    const readers = startReaders(api.db.url, 1, keyring, expected);
    await readers.moreRounds(1);
    await readers.stop();
    return readers.state;
  };

  beforeAll(async () => {
    api = await startApi();
    const keyringA = new MasterKeyring(A());
    for (let i = 0; i < TENANTS; i++) {
      const { body: t } = await api.admin().post('/tenants').send({ name: `Rotating ${i}` }).expect(201);
      tenants.push(t.id);
      const keys = [providerKey(), providerKey()];
      const { body: c } = await api.admin().post('/credentials').set('Keyvault-Tenant', t.id).send({ name: 'main', vendor: 'openai', keys }).expect(201);
      credentials.set(t.id, c.id);
      c.keys.forEach((k: { id: string }, j: number) => expected.providerKeys.set(k.id, keys[j]));
      // a webhook secret sealed under the tenant's data key, as the webhooks module stores it
      const [row] = await queryDb<{ data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }>(
        api.db.url,
        'SELECT data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1',
        [t.id],
      );
      const dataKey = unwrapTenantDataKey(keyringA, { id: t.id, dataKeyWrapped: row.data_key_wrapped, dataKeyMasterKeyId: row.data_key_master_key_id, dataKeyVersion: row.data_key_version });
      const webhookId = newId('webhook');
      const secret = `whsec_${randomBytes(24).toString('hex')}`;
      createdSecrets.add(secret);
      expected.webhookSecrets.set(webhookId, secret);
      await queryDb(
        api.db.url,
        `INSERT INTO webhooks (id, tenant_id, url, events, secret_sealed, data_key_version) VALUES ($1, $2, 'https://8.8.8.8/hook', '{vault_key.revoked}', $3, 1)`,
        [webhookId, t.id, seal(dataKey, Buffer.from(secret), aad.webhookSecret(t.id, webhookId))],
      );
      dataKey.fill(0);
    }
    // The api made its own signing key at start; the readers below check plaintexts they know,
    // so the test replaces it with two of its own (no vault key is issued in this file).
    await queryDb(api.db.url, 'DELETE FROM signing_keys');
    for (let i = 0; i < 2; i++) {
      const pair = generateSigningKeyPair(newId('signingKey'));
      const der = exportPrivateKey(pair.privateKey);
      expected.signingKeys.set(pair.kid, der.toString('hex'));
      const { wrapped, masterKeyId: mk } = keyringA.wrap(der, aad.signingKey(pair.kid));
      await queryDb(
        api.db.url,
        `INSERT INTO signing_keys (id, algorithm, public_key_pem, private_key_sealed, master_key_id) VALUES ($1, 'EdDSA', $2, $3, $4)`,
        [pair.kid, exportPublicKey(pair.publicKey), wrapped, mk],
      );
    }
  });
  afterAll(async () => api?.close());

  describe('tenant data key (POST /tenants/{id}/rotate-data-key)', () => {
    it('re-encrypts every provider key and webhook secret while readers keep decrypting, without one failure', async () => {
      const oldSealed = new Set(
        (await queryDb<{ s: Buffer }>(api.db.url, 'SELECT sealed AS s FROM credential_keys UNION ALL SELECT secret_sealed FROM webhooks')).map((r) => r.s.toString('hex')),
      );
      const notices = await listen(api.db.url, CHANNELS.credentials);
      const readers = startReaders(api.db.url, READERS, new MasterKeyring(A()), expected);
      try {
        await readers.moreRounds(READERS);
        const roundsBefore = readers.state.rounds;
        // every tenant rotates at once, while keys are being added to some of them
        const adds = tenants.slice(0, 6).map(async (t) => {
          const key = providerKey();
          expected.addedProviderKeys.add(key);
          const { body } = await api.admin().post(`/credentials/${credentials.get(t)}/keys`).set('Keyvault-Tenant', t).send({ key }).expect(201);
          expected.providerKeys.set(body.keys[2].id, key);
        });
        const [results] = await Promise.all([Promise.all(tenants.map((t) => rotateDataKey(api.http, t).expect(200))), Promise.all(adds)]);
        await readers.moreRounds(READERS);
        expect(readers.state.rounds).toBeGreaterThan(roundsBefore);
        expect(results[0].body).toMatchObject({ object: 'data_key_rotation', tenant: tenants[0], data_key_version: 2, webhook_secrets: 1 });
        expect([2, 3]).toContain(results[0].body.credential_keys);
        for (const t of tenants) await notices.next((p) => (p as { tenant_id?: string }).tenant_id === t);
      } finally {
        await readers.stop();
        await notices.close();
      }
      expect(readers.state.failures).toEqual([]);

      const versions = await queryDb<{ v: number }>(
        api.db.url,
        'SELECT data_key_version AS v FROM tenants UNION ALL SELECT data_key_version FROM credential_keys UNION ALL SELECT data_key_version FROM webhooks',
      );
      expect(new Set(versions.map((r) => r.v))).toEqual(new Set([2]));
      const nowSealed = await queryDb<{ s: Buffer }>(api.db.url, 'SELECT sealed AS s FROM credential_keys UNION ALL SELECT secret_sealed FROM webhooks');
      expect(nowSealed.filter((r) => oldSealed.has(r.s.toString('hex')))).toEqual([]);

      const after = await readEverythingWith(new MasterKeyring(A()));
      expect(after.failures).toEqual([]);
      expect(after.checked).toBe(after.rounds * (await countRows()));
    });

    it('is admin only, and 404 for an unknown tenant', async () => {
      const { body: k } = await api.admin().post(`/tenants/${tenants[0]}/api-keys`).send({ name: 'nosy' }).expect(201);
      const denied = await api.http.post(`/tenants/${tenants[0]}/rotate-data-key`).set('Authorization', `Bearer ${k.api_key}`).expect(403);
      expect(denied.body.error.code).toBe('admin_only');
      const missing = await rotateDataKey(api.http, 'ten_00000000000000000000000000').expect(404);
      expect(missing.body.error.code).toBe('resource_missing');
    });
  });

  describe('master key (npm run rotate-master-key)', () => {
    const B = newMasterKey();
    let api2: INestApplication;

    // an answer stored for an Idempotency-Key, sealed under the old key (it holds a secret shown once)
    const idempotent = { key: `rotation-${randomBytes(6).toString('hex')}`, body: { name: 'idempotent backend' }, answer: undefined as unknown };
    const createApiKey = (http: TestAgent) =>
      http
        .post(`/tenants/${tenants[0]}/api-keys`)
        .set('Authorization', `Bearer ${api.config.KEYVAULT_ADMIN_TOKEN}`)
        .set('Idempotency-Key', idempotent.key)
        .send(idempotent.body);

    beforeAll(async () => {
      const first = await createApiKey(api.http).expect(201);
      createdSecrets.add(first.body.api_key);
      idempotent.answer = first.body;
      // An api rolled out with the new key first and the old one as previous, as the procedure says.
      api2 = await createApiApp(testApiConfig(api.db.url, { KEYVAULT_MASTER_KEY: B, KEYVAULT_PREVIOUS_MASTER_KEYS: A(), KEYVAULT_ADMIN_TOKEN: api.config.KEYVAULT_ADMIN_TOKEN }));
      await api2.listen(0, '127.0.0.1');
    });
    afterAll(async () => api2?.close());

    it('re-wraps every tenant data key and signing key while readers holding both keys never fail', async () => {
      const readers = startReaders(api.db.url, READERS, new MasterKeyring(B, [A()]), expected);
      let run: Awaited<ReturnType<typeof rotateMasterKey>>;
      try {
        await readers.moreRounds(READERS);
        const roundsBefore = readers.state.rounds;
        // Tenant data-key rotations by the rolled-out api race the re-wrap on a third of the tenants.
        const http2 = request(api2.getHttpServer());
        [run] = await Promise.all([
          rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: B, KEYVAULT_PREVIOUS_MASTER_KEYS: A() }),
          ...tenants.filter((_, i) => i % 3 === 0).map((t) => rotateDataKey(http2, t).expect(200)),
        ]);
        await readers.moreRounds(READERS);
        expect(readers.state.rounds).toBeGreaterThan(roundsBefore);
      } finally {
        await readers.stop();
      }
      expect(readers.state.failures).toEqual([]);
      expect(run!.stderr).toBe('');
      expect(run!.code).toBe(0);
      expect(run!.stdout).toMatch(
        new RegExp(`^master key rotation: re-wrapped \\d+ tenant data keys, 2 signing keys and 1 idempotent responses under master key ${masterKeyId(Buffer.from(B, 'base64'))}$`),
      );

      const ids = await queryDb<{ mk: string }>(
        api.db.url,
        'SELECT data_key_master_key_id AS mk FROM tenants UNION ALL SELECT master_key_id FROM signing_keys UNION ALL SELECT master_key_id FROM idempotency_records',
      );
      expect(new Set(ids.map((r) => r.mk))).toEqual(new Set([masterKeyId(Buffer.from(B, 'base64'))]));
      const onlyNew = await readEverythingWith(new MasterKeyring(B));
      expect(onlyNew.failures).toEqual([]);
      expect(onlyNew.checked).toBe(onlyNew.rounds * (await countRows()));
    });

    it('leaves stored idempotent answers replayable by an api holding only the new key', async () => {
      const onlyB = await createApiApp(testApiConfig(api.db.url, { KEYVAULT_MASTER_KEY: B, KEYVAULT_ADMIN_TOKEN: api.config.KEYVAULT_ADMIN_TOKEN }));
      try {
        await onlyB.init();
        const replay = await createApiKey(request(onlyB.getHttpServer())).expect(201);
        expect(replay.headers['idempotent-replayed']).toBe('true');
        expect(replay.body).toEqual(idempotent.answer);
      } finally {
        await onlyB.close();
      }
    });

    it('a second run is a no-op', async () => {
      const before = await queryDb<{ id: string; w: Buffer }>(api.db.url, 'SELECT id, data_key_wrapped AS w FROM tenants ORDER BY id');
      const run = await rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: B, KEYVAULT_PREVIOUS_MASTER_KEYS: A() });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^master key rotation: re-wrapped 0 tenant data keys, 0 signing keys and 0 idempotent responses under master key /);
      expect(await queryDb(api.db.url, 'SELECT id, data_key_wrapped AS w FROM tenants ORDER BY id')).toEqual(before);
    });

    it('fails with one line, changing nothing, when a row is under a master key it was not given', async () => {
      const run = await rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_MASTER_KEY: newMasterKey() });
      expect(run.code).toBe(1);
      expect(run.stderr.split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(new RegExp(`^master key rotation failed: ${TENANTS + 3} row\\(s\\) could not be re-wrapped \\(first: tenants ten_\\w+: master key \\w+ is not configured`));
      expect(run.stdout).toBe('');
      const ids = await queryDb<{ mk: string }>(api.db.url, 'SELECT DISTINCT data_key_master_key_id AS mk FROM tenants');
      expect(ids).toEqual([{ mk: masterKeyId(Buffer.from(B, 'base64')) }]);
    });

    it('stops on a missing setting with the usual one line (exit 78)', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'kv-rotate-'));
      try {
        const run = await rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_DATA_DIR: empty });
        expect(run.code).toBe(78);
        expect(run.stderr).toBe('Invalid configuration: KEYVAULT_MASTER_KEY is required');
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it("rotates `npm start`'s key in .data/secrets.json: new key saved, old one kept as previous, everything re-wrapped", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'kv-rotate-'));
      const secretsFile = join(dataDir, 'secrets.json');
      const admin = `kv_admin_${randomBytes(24).toString('hex')}`;
      writeFileSync(secretsFile, JSON.stringify({ KEYVAULT_MASTER_KEY: B, KEYVAULT_ADMIN_TOKEN: admin, EMBEDDED_PG_PASSWORD: 'pw' }), { mode: 0o600 });
      try {
        // no KEYVAULT_MASTER_KEY in the environment and a secrets file: the embedded setup's rotation
        const first = await rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_DATA_DIR: dataDir });
        expect(first.stderr).toBe('');
        expect(first.code).toBe(0);
        const s1 = JSON.parse(readFileSync(secretsFile, 'utf8'));
        createdSecrets.add(s1.KEYVAULT_MASTER_KEY);
        expect(s1.KEYVAULT_MASTER_KEY).not.toBe(B);
        expect(Buffer.from(s1.KEYVAULT_MASTER_KEY, 'base64')).toHaveLength(32);
        expect(s1).toMatchObject({ KEYVAULT_PREVIOUS_MASTER_KEYS: B, KEYVAULT_ADMIN_TOKEN: admin, EMBEDDED_PG_PASSWORD: 'pw' });
        expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
        expect(first.stdout).toContain(`${TENANTS} tenant data keys, 2 signing keys and 1 idempotent responses under master key ${masterKeyId(Buffer.from(s1.KEYVAULT_MASTER_KEY, 'base64'))}`);
        expect((await readEverythingWith(new MasterKeyring(s1.KEYVAULT_MASTER_KEY))).failures).toEqual([]);

        const second = await rotateMasterKey({ DATABASE_URL: api.db.url, KEYVAULT_DATA_DIR: dataDir }, ['--generate']);
        expect(second.code).toBe(0);
        const s2 = JSON.parse(readFileSync(secretsFile, 'utf8'));
        createdSecrets.add(s2.KEYVAULT_MASTER_KEY);
        expect(s2.KEYVAULT_PREVIOUS_MASTER_KEYS).toBe(`${s1.KEYVAULT_MASTER_KEY},${B}`);
        const onlyNewest = await readEverythingWith(new MasterKeyring(s2.KEYVAULT_MASTER_KEY));
        expect(onlyNewest.failures).toEqual([]);
        expect(onlyNewest.checked).toBe(onlyNewest.rounds * (await countRows()));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
