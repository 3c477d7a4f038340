import { Client } from 'pg';
import { aad, MasterKeyring, open, openProviderKey, unwrapTenantDataKey } from '@keyvault/crypto';

/** What every reader must find: plaintexts by row id (provider keys, webhook secrets, signing keys). */
export interface Expected {
  providerKeys: Map<string, string>;
  /** keys added while the readers run, before their row ids are known */
  addedProviderKeys: Set<string>;
  webhookSecrets: Map<string, string>;
  /** PKCS#8 DER, hex */
  signingKeys: Map<string, string>;
}

/**
 * Readers that keep loading and decrypting every stored secret, as proxy instances do while a
 * rotation runs. Each load is one statement (one snapshot) joining the rows to their tenant.
 */
export function startReaders(dbUrl: string, count: number, keyring: MasterKeyring, expected: Expected) {
  const state = { stop: false, rounds: 0, checked: 0, failures: [] as string[] };
  let roundWaiters: { at: number; resolve: () => void }[] = [];

  const check = (what: string, got: () => string, want: string | undefined, orOneOf?: Set<string>) => {
    try {
      const plaintext = got();
      if (plaintext !== want && !orOneOf?.has(plaintext)) state.failures.push(`${what}: wrong plaintext`);
      state.checked++;
    } catch (err) {
      state.failures.push(`${what}: ${(err as Error).message}`);
    }
  };

  const tenantKey = (r: { tenant_id: string; data_key_wrapped: Buffer; data_key_master_key_id: string; data_key_version: number }) =>
    unwrapTenantDataKey(keyring, {
      id: r.tenant_id,
      dataKeyWrapped: r.data_key_wrapped,
      dataKeyMasterKeyId: r.data_key_master_key_id,
      dataKeyVersion: r.data_key_version,
    });

  const loops = Array.from({ length: count }, async () => {
    const db = new Client({ connectionString: dbUrl });
    await db.connect();
    try {
      while (!state.stop) {
        const keys = await db.query(
          `SELECT ck.id, ck.tenant_id, ck.sealed, t.data_key_wrapped, t.data_key_master_key_id, t.data_key_version
             FROM credential_keys ck JOIN tenants t ON t.id = ck.tenant_id`,
        );
        for (const r of keys.rows) {
          check(`credential key ${r.id}`, () => openProviderKey(tenantKey(r), r.tenant_id, r.id, r.sealed).reveal(), expected.providerKeys.get(r.id), expected.addedProviderKeys);
        }
        const hooks = await db.query(
          `SELECT w.id, w.tenant_id, w.secret_sealed, t.data_key_wrapped, t.data_key_master_key_id, t.data_key_version
             FROM webhooks w JOIN tenants t ON t.id = w.tenant_id`,
        );
        for (const r of hooks.rows) {
          check(`webhook ${r.id}`, () => open(tenantKey(r), r.secret_sealed, aad.webhookSecret(r.tenant_id, r.id)).toString('utf8'), expected.webhookSecrets.get(r.id));
        }
        const signing = await db.query('SELECT id, private_key_sealed, master_key_id FROM signing_keys');
        for (const r of signing.rows) {
          check(`signing key ${r.id}`, () => keyring.unwrap(r.private_key_sealed, r.master_key_id, aad.signingKey(r.id)).toString('hex'), expected.signingKeys.get(r.id));
        }
        state.rounds++;
        roundWaiters = roundWaiters.filter((w) => (state.rounds >= w.at ? (w.resolve(), false) : true));
      }
    } finally {
      await db.end();
    }
  });

  return {
    state,
    /** Resolves once the readers together have finished `n` more rounds. */
    moreRounds(n: number): Promise<void> {
      return new Promise((resolve) => roundWaiters.push({ at: state.rounds + n, resolve }));
    },
    async stop(): Promise<void> {
      state.stop = true;
      await Promise.all(loops);
    },
  };
}
