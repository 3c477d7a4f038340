import type { EntityManager } from 'typeorm';
import { MasterKeyring, unwrapTenantDataKey } from '@keyvault/crypto';
import { notFound } from '@keyvault/errors';

interface TenantKeyRow {
  id: string;
  data_key_wrapped: Buffer;
  data_key_master_key_id: string;
  data_key_version: number;
}

/**
 * Lends the tenant's unwrapped data key to `use` inside the caller's transaction and zeroes it
 * afterwards. The tenant row is locked FOR SHARE so that a data-key rotation (which takes it
 * FOR UPDATE) waits for this transaction: nothing is ever sealed under a data key that a
 * concurrent rotation is about to replace.
 */
export async function withTenantDataKey<T>(
  manager: EntityManager,
  keyring: MasterKeyring,
  tenantId: string,
  use: (dataKey: Buffer, version: number) => Promise<T>,
): Promise<T> {
  const rows: TenantKeyRow[] = await manager.query(
    'SELECT id, data_key_wrapped, data_key_master_key_id, data_key_version FROM tenants WHERE id = $1 FOR SHARE',
    [tenantId],
  );
  const row = rows[0];
  if (!row) throw notFound('tenant', tenantId);
  const dataKey = unwrapTenantDataKey(keyring, {
    id: row.id,
    dataKeyWrapped: row.data_key_wrapped,
    dataKeyMasterKeyId: row.data_key_master_key_id,
    dataKeyVersion: row.data_key_version,
  });
  try {
    return await use(dataKey, row.data_key_version);
  } finally {
    dataKey.fill(0);
  }
}
