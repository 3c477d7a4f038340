import type { ClientBase } from 'pg';
import { aad, MasterKeyring } from '@keyvault/crypto';

/** A kind of row holding something wrapped under the master key. */
interface WrappedTable {
  label: string;
  table: string;
  /** the primary key's columns */
  keyColumns: string[];
  wrappedColumn: string;
  masterKeyIdColumn: string;
  /** the columns the AAD is built from, besides the key's */
  aadColumns: string[];
  aad: (row: Record<string, unknown>) => string;
}

const TABLES: WrappedTable[] = [
  {
    label: 'tenant data keys',
    table: 'tenants',
    keyColumns: ['id'],
    wrappedColumn: 'data_key_wrapped',
    masterKeyIdColumn: 'data_key_master_key_id',
    aadColumns: ['data_key_version'],
    aad: (r) => aad.tenantDataKey(r.id as string, r.data_key_version as number),
  },
  {
    label: 'signing keys',
    table: 'signing_keys',
    keyColumns: ['id'],
    wrappedColumn: 'private_key_sealed',
    masterKeyIdColumn: 'master_key_id',
    aadColumns: [],
    aad: (r) => aad.signingKey(r.id as string),
  },
  {
    // stored answers to Idempotency-Key requests (24 hours), which can hold secrets shown once;
    // a claim still in progress has nothing sealed yet (NULL master key id) and is left alone
    label: 'idempotent responses',
    table: 'idempotency_records',
    keyColumns: ['scope', 'idempotency_key'],
    wrappedColumn: 'response_sealed',
    masterKeyIdColumn: 'master_key_id',
    aadColumns: [],
    aad: (r) => aad.idempotentResponse(r.scope as string, r.idempotency_key as string),
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
 * Re-wraps, under the keyring's current master key, every tenant data key, signing key and stored
 * idempotent response that is wrapped under another one. Each row changes with a conditional UPDATE (same master key id
 * and same wrapped bytes as read), so it is safe while the api and proxy keep serving with
 * both keys configured: a reader sees the old or the new wrapping, both of which it opens, and
 * a concurrent writer (a tenant data-key rotation) wins; its row is read again.
 */
export async function rewrapUnderCurrentMasterKey(db: ClientBase, keyring: MasterKeyring): Promise<RewrapResult> {
  const result: RewrapResult = { rewrapped: {}, failures: [] };
  for (const t of TABLES) {
    result.rewrapped[t.label] = 0;
    const keys = t.keyColumns.join(', ');
    const stale: Record<string, unknown>[] = (
      await db.query(`SELECT ${keys} FROM ${t.table} WHERE ${t.masterKeyIdColumn} <> $1 ORDER BY ${keys}`, [keyring.currentId])
    ).rows;
    for (const key of stale) {
      try {
        if (await rewrapRow(db, keyring, t, key)) result.rewrapped[t.label]++;
      } catch (err) {
        result.failures.push(`${t.table} ${t.keyColumns.map((c) => key[c]).join('/')}: ${(err as Error).message}`);
      }
    }
  }
  return result;
}

/** True when this call re-wrapped the row, false when it was already under the current key. */
async function rewrapRow(db: ClientBase, keyring: MasterKeyring, t: WrappedTable, key: Record<string, unknown>): Promise<boolean> {
  const columns = [...t.keyColumns, t.wrappedColumn, t.masterKeyIdColumn, ...t.aadColumns].join(', ');
  const keyValues = t.keyColumns.map((c) => key[c]);
  const n = keyValues.length;
  const byKey = t.keyColumns.map((c, i) => `${c} = $${i + 1}`).join(' AND ');
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const row: Record<string, unknown> | undefined = (await db.query(`SELECT ${columns} FROM ${t.table} WHERE ${byKey}`, keyValues)).rows[0];
    if (!row || row[t.masterKeyIdColumn] === null || row[t.masterKeyIdColumn] === keyring.currentId) return false;
    const oldWrapped = row[t.wrappedColumn] as Buffer;
    const plaintext = keyring.unwrap(oldWrapped, row[t.masterKeyIdColumn] as string, t.aad(row));
    try {
      const { wrapped, masterKeyId } = keyring.wrap(plaintext, t.aad(row));
      const updated = await db.query(
        `UPDATE ${t.table} SET ${t.wrappedColumn} = $${n + 1}, ${t.masterKeyIdColumn} = $${n + 2}
          WHERE ${byKey} AND ${t.masterKeyIdColumn} = $${n + 3} AND ${t.wrappedColumn} = $${n + 4}`,
        [...keyValues, wrapped, masterKeyId, row[t.masterKeyIdColumn], oldWrapped],
      );
      if (updated.rowCount === 1) return true;
    } finally {
      plaintext.fill(0);
    }
  }
  throw new Error(`changed ${ATTEMPTS} times while being re-wrapped`);
}
