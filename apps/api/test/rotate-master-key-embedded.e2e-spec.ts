import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKeyId, MasterKeyring, newId, newTenantDataKey, openProviderKey, sealProviderKey, unwrapTenantDataKey } from '@keyvault/crypto';
import { dataSourceOptions, runMigrations } from '@keyvault/db';
import { createdSecrets, queryDb } from '@keyvault/testing';
import { freePort } from '../../../test/harness/free-port';

const ROOT = join(__dirname, '../../..');
const ROTATE = join(ROOT, 'dist/apps/api/apps/api/src/cli/rotate-master-key.js');

interface EmbeddedPostgres {
  startEmbeddedPostgres(dataDir: string, password: string): Promise<{ url: string; pg: { stop(): Promise<void> } }>;
}

/**
 * `npm start`'s own setup: no DATABASE_URL, secrets in <data>/secrets.json, the embedded
 * PostgreSQL under <data>/pg. The rotation starts that database itself, and refuses while it runs.
 */
describe('rotate-master-key on the embedded setup', () => {
  let embedded: EmbeddedPostgres;
  let dataDir: string;
  const oldKey = randomBytes(32).toString('base64');
  const password = randomBytes(12).toString('hex');
  const secret = `sk-embedded-${randomBytes(16).toString('hex')}`;
  const tenantId = newId('tenant');
  const keyId = newId('credentialKey');
  let env: Record<string, string>;
  const rotate = () => spawnSync(process.execPath, [ROTATE], { env, encoding: 'utf8', timeout: 60_000 });

  beforeAll(async () => {
    if (!existsSync(ROTATE)) throw new Error(`${ROTATE} is missing: run \`npm run build\` first`);
    createdSecrets.add(oldKey);
    createdSecrets.add(secret);
    dataDir = mkdtempSync(join(tmpdir(), 'kv-embedded-'));
    chmodSync(dataDir, 0o711); // the embedded server may run as its own user, as under npm start
    process.env.KEYVAULT_EMBEDDED_PG_PORT = String(await freePort());
    env = { PATH: process.env.PATH ?? '', KEYVAULT_DATA_DIR: dataDir, KEYVAULT_EMBEDDED_PG_PORT: process.env.KEYVAULT_EMBEDDED_PG_PORT };
    writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ KEYVAULT_MASTER_KEY: oldKey, KEYVAULT_ADMIN_TOKEN: 'a'.repeat(40), EMBEDDED_PG_PASSWORD: password }), { mode: 0o600 });
    embedded = (await import(pathToFileURL(join(ROOT, 'scripts/embedded-postgres.mjs')).href)) as EmbeddedPostgres;
  });
  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    delete process.env.KEYVAULT_EMBEDDED_PG_PORT; // the worker runs other files after this one
  });

  it('refuses while Keyvault runs, then re-wraps with the database it starts itself', async () => {
    const running = await embedded.startEmbeddedPostgres(dataDir, password);
    try {
      // runMigrations holds one connection for its advisory lock while migrating on another
      const ds = await new DataSource(dataSourceOptions({ url: running.url, poolSize: 2 })).initialize();
      await runMigrations(ds);
      await ds.destroy();
      const { dataKey, wrapped, masterKeyId: mk } = newTenantDataKey(new MasterKeyring(oldKey), tenantId);
      await queryDb(running.url, `INSERT INTO tenants (id, name, slug, max_vault_key_ttl_seconds, data_key_wrapped, data_key_master_key_id) VALUES ($1, 'Embedded', 'embedded', 3600, $2, $3)`, [tenantId, wrapped, mk]);
      await queryDb(
        running.url,
        `INSERT INTO credential_keys (id, tenant_id, credential_id, sealed, data_key_version, last4, position) VALUES ($1, $2, 'cred_x', $3, 1, 'abcd', 0)`,
        [keyId, tenantId, sealProviderKey(dataKey, tenantId, keyId, secret)],
      );

      const refused = rotate();
      expect(refused.status).toBe(1);
      expect(refused.stderr.trim()).toMatch(/^master key rotation failed: Keyvault is running: stop `npm start` first/);
      expect(JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).KEYVAULT_MASTER_KEY).toBe(oldKey);
    } finally {
      await running.pg.stop();
    }

    const run = rotate();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8'));
    createdSecrets.add(secrets.KEYVAULT_MASTER_KEY);
    expect(secrets.KEYVAULT_PREVIOUS_MASTER_KEYS).toBe(oldKey);
    expect(run.stdout.trim()).toBe(
      `master key rotation: re-wrapped 1 tenant data keys, 0 signing keys and 0 idempotent responses under master key ${masterKeyId(Buffer.from(secrets.KEYVAULT_MASTER_KEY, 'base64'))}`,
    );

    const again = await embedded.startEmbeddedPostgres(dataDir, password);
    try {
      const [t] = await queryDb<{ data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }>(
        again.url,
        'SELECT data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1',
        [tenantId],
      );
      const dataKey = unwrapTenantDataKey(new MasterKeyring(secrets.KEYVAULT_MASTER_KEY), {
        id: tenantId,
        dataKeyWrapped: t.data_key_wrapped,
        dataKeyMasterKeyId: t.data_key_master_key_id,
        dataKeyVersion: t.data_key_version,
      });
      const [k] = await queryDb<{ sealed: Buffer }>(again.url, 'SELECT sealed FROM credential_keys WHERE id = $1', [keyId]);
      expect(openProviderKey(dataKey, tenantId, keyId, k.sealed).reveal()).toBe(secret);
    } finally {
      await again.pg.stop();
    }
  }, 120_000); // initdb of a fresh embedded server: seconds, more on a busy machine
});
