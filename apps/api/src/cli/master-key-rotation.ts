import type { ClientBase } from 'pg';
import { aad, MasterKeyring } from '@keyvault/crypto';

/** A kind of row holding something wrapped under the master key. */
interface WrappedTable {
  label: string;
  table: string;
  wrappedColumn: string;
  masterKeyIdColumn: string;
  /** the columns the AAD is built from, besides id */
  aadColumns: string[];
  aad: (row: Record<string, unknown>) => string;
}

const TABLES: WrappedTable[] = [
  {
    label: 'tenant data keys',
    table: 'tenants',
    wrappedColumn: 'data_key_wrapped',
    masterKeyIdColumn: 'data_key_master_key_id',
    aadColumns: ['data_key_version'],
    aad: (r) => aad.tenantDataKey(r.id as string, r.data_key_version as number),
  },
  {
    label: 'signing keys',
    table: 'signing_keys',
    wrappedColumn: 'private_key_sealed',
    masterKeyIdColumn: 'master_key_id',
    aadColumns: [],
    aad: (r) => aad.signingKey(r.id as string),
  },
];

/** How often one row is retried when a concurrent writer (a data-key rotation) keeps changing it. */
const ATTEMPTS = 5;

export interface RewrapResult {
  /** rows re-wrapped, per label */
  rewrapped: Record<string, number>;
  /** "<table> <id>: <reason>", never a secret */
  failures: string[];
}

/**
 * Re-wraps, under the keyring's current master key, every tenant data key and signing key that
 * is wrapped under another one. Each row changes with a conditional UPDATE (same master key id
 * and same wrapped bytes as read), so it is safe while the api and proxy keep serving with
 * both keys configured: a reader sees the old or the new wrapping, both of which it opens, and
 * a concurrent writer (a tenant data-key rotation) wins; its row is read again.
 */
export async function rewrapUnderCurrentMasterKey(db: ClientBase, keyring: MasterKeyring): Promise<RewrapResult> {
  const result: RewrapResult = { rewrapped: {}, failures: [] };
  for (const t of TABLES) {
    result.rewrapped[t.label] = 0;
    const stale: { id: string }[] = (
      await db.query(`SELECT id FROM ${t.table} WHERE ${t.masterKeyIdColumn} <> $1 ORDER BY id`, [keyring.currentId])
    ).rows;
    for (const { id } of stale) {
      try {
        if (await rewrapRow(db, keyring, t, id)) result.rewrapped[t.label]++;
      } catch (err) {
        result.failures.push(`${t.table} ${id}: ${(err as Error).message}`);
      }
    }
  }
  return result;
}

/** True when this call re-wrapped the row, false when it was already under the current key. */
async function rewrapRow(db: ClientBase, keyring: MasterKeyring, t: WrappedTable, id: string): Promise<boolean> {
  const columns = ['id', t.wrappedColumn, t.masterKeyIdColumn, ...t.aadColumns].join(', ');
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const row: Record<string, unknown> | undefined = (await db.query(`SELECT ${columns} FROM ${t.table} WHERE id = $1`, [id])).rows[0];
    if (!row || row[t.masterKeyIdColumn] === keyring.currentId) return false;
    const oldWrapped = row[t.wrappedColumn] as Buffer;
    const plaintext = keyring.unwrap(oldWrapped, row[t.masterKeyIdColumn] as string, t.aad(row));
    try {
      const { wrapped, masterKeyId } = keyring.wrap(plaintext, t.aad(row));
      const updated = await db.query(
        `UPDATE ${t.table} SET ${t.wrappedColumn} = $2, ${t.masterKeyIdColumn} = $3
          WHERE id = $1 AND ${t.masterKeyIdColumn} = $4 AND ${t.wrappedColumn} = $5`,
        [id, wrapped, masterKeyId, row[t.masterKeyIdColumn], oldWrapped],
      );
      if (updated.rowCount === 1) return true;
    } finally {
      plaintext.fill(0);
    }
  }
  throw new Error(`changed ${ATTEMPTS} times while being re-wrapped`);
}
