import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, MasterKeyring } from '@keyvault/crypto';
import { queryDb } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { decryptStoredKey, providerKey, tenantWithKey, type TenantWithKeys } from './support/credential-fixtures';

/** Provider keys sealed at rest: what is stored decrypts only where it belongs. */
describe('provider keys at rest', () => {
  let api: ApiHarness;
  let keyring: MasterKeyring;
  let a: TenantWithKeys;
  let b: TenantWithKeys;
  const plaintexts: string[] = [];
  const created: { credentialId: string; keyIds: string[]; tenantId: string }[] = [];

  beforeAll(async () => {
    api = await startApi();
    keyring = new MasterKeyring(api.config.KEYVAULT_MASTER_KEY);
    a = await tenantWithKey(api, 'Crypto A');
    b = await tenantWithKey(api, 'Crypto B');
    for (const t of [a, b]) {
      const keys = [providerKey(), providerKey()];
      plaintexts.push(...keys);
      const { body } = await t.as('post', '/credentials').send({ name: 'openai_main', vendor: 'openai', keys }).expect(201);
      created.push({ credentialId: body.id, keyIds: body.keys.map((k: { id: string }) => k.id), tenantId: t.id });
    }
    const added = providerKey();
    plaintexts.push(added);
    const { body } = await a.as('post', `/credentials/${created[0].credentialId}/keys`).send({ key: added }).expect(201);
    created[0].keyIds.push(body.keys[2].id);
  });
  afterAll(async () => api?.close());

  const sealedOf = async (id: string) =>
    (await queryDb<{ sealed: Buffer }>(api.db.url, 'SELECT sealed FROM credential_keys WHERE id = $1', [id]))[0].sealed;
  const setSealed = (id: string, sealed: Buffer) => queryDb(api.db.url, 'UPDATE credential_keys SET sealed = $2 WHERE id = $1', [id, sealed]);

  it('round trip: the stored row decrypts, with the tenant data key, to the original key', async () => {
    const [ka1, ka2, ka3] = created[0].keyIds;
    expect((await decryptStoredKey(api.db.url, keyring, ka1)).reveal()).toBe(plaintexts[0]);
    expect((await decryptStoredKey(api.db.url, keyring, ka2)).reveal()).toBe(plaintexts[1]);
    expect((await decryptStoredKey(api.db.url, keyring, ka3)).reveal()).toBe(plaintexts[4]);
    expect((await decryptStoredKey(api.db.url, keyring, created[1].keyIds[0])).reveal()).toBe(plaintexts[2]);
    const rows = await queryDb<{ data_key_version: number; last4: string; position: number }>(
      api.db.url,
      'SELECT data_key_version, last4, position FROM credential_keys WHERE credential_id = $1 ORDER BY position',
      [created[0].credentialId],
    );
    expect(rows).toEqual([
      { data_key_version: 1, last4: plaintexts[0].slice(-4), position: 0 },
      { data_key_version: 1, last4: plaintexts[1].slice(-4), position: 1 },
      { data_key_version: 1, last4: plaintexts[4].slice(-4), position: 2 },
    ]);
  });

  it.each([
    ['nonce', (s: Buffer) => 0],
    ['ciphertext', (s: Buffer) => 12 + Math.floor((s.length - 28) / 2)],
    ['tag', (s: Buffer) => s.length - 1],
  ])('a flipped bit in the %s fails to decrypt', async (_, at) => {
    const id = created[0].keyIds[0];
    const original = await sealedOf(id);
    const tampered = Buffer.from(original);
    tampered[at(tampered)] ^= 0x01;
    await setSealed(id, tampered);
    try {
      await expect(decryptStoredKey(api.db.url, keyring, id)).rejects.toBeInstanceOf(DecryptionError);
    } finally {
      await setSealed(id, original);
    }
    expect((await decryptStoredKey(api.db.url, keyring, id)).reveal()).toBe(plaintexts[0]);
  });

  it("a sealed key copied to another key's row fails to decrypt", async () => {
    const [from, to] = created[0].keyIds;
    const original = await sealedOf(to);
    await setSealed(to, await sealedOf(from));
    try {
      await expect(decryptStoredKey(api.db.url, keyring, to)).rejects.toBeInstanceOf(DecryptionError);
    } finally {
      await setSealed(to, original);
    }
  });

  it("a sealed key copied to another tenant's row fails to decrypt", async () => {
    const from = created[0].keyIds[0];
    const to = created[1].keyIds[0];
    const original = await sealedOf(to);
    await setSealed(to, await sealedOf(from));
    try {
      await expect(decryptStoredKey(api.db.url, keyring, to)).rejects.toBeInstanceOf(DecryptionError);
    } finally {
      await setSealed(to, original);
    }
    // and moving the whole row (tenant id and all) to the other tenant does not help either:
    // the other tenant's data key does not open it
    await queryDb(api.db.url, 'UPDATE credential_keys SET tenant_id = $2 WHERE id = $1', [from, b.id]);
    try {
      await expect(decryptStoredKey(api.db.url, keyring, from)).rejects.toBeInstanceOf(DecryptionError);
    } finally {
      await queryDb(api.db.url, 'UPDATE credential_keys SET tenant_id = $2 WHERE id = $1', [from, a.id]);
    }
  });

  it('a pg_dump of the database holds no provider key and not the master key, in any encoding', () => {
    const dump = spawnSync('pg_dump', ['-h', '127.0.0.1', '-U', 'postgres', api.db.name], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(dump.status).toBe(0);
    expect(dump.stdout).toContain('COPY public.credential_keys');
    const text = dump.stdout.toLowerCase();
    const master = Buffer.from(api.config.KEYVAULT_MASTER_KEY, 'base64');
    const needles = [
      ...plaintexts.flatMap((p) => [p, Buffer.from(p).toString('hex'), Buffer.from(p).toString('base64')]),
      api.config.KEYVAULT_MASTER_KEY,
      master.toString('hex'),
    ];
    for (const needle of needles) expect(text).not.toContain(needle.toLowerCase());
  });
});
