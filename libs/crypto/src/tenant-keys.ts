import { randomBytes } from 'node:crypto';
import { aad, MasterKeyring, open, seal } from './envelope';
import { Secret } from './secret';

/** The columns of a tenant row that hold its wrapped data key. */
export interface WrappedDataKey {
  id: string;
  dataKeyWrapped: Buffer;
  dataKeyMasterKeyId: string;
  dataKeyVersion: number;
}

/** A fresh 256-bit data key, wrapped for storage on the tenant row. */
export function newTenantDataKey(keyring: MasterKeyring, tenantId: string, version = 1) {
  const dataKey = randomBytes(32);
  const { wrapped, masterKeyId } = keyring.wrap(dataKey, aad.tenantDataKey(tenantId, version));
  return { dataKey, wrapped, masterKeyId, version };
}

export function unwrapTenantDataKey(keyring: MasterKeyring, t: WrappedDataKey): Buffer {
  return keyring.unwrap(t.dataKeyWrapped, t.dataKeyMasterKeyId, aad.tenantDataKey(t.id, t.dataKeyVersion));
}

/** Seals one provider key under the tenant's data key, bound to its tenant and key id. */
export function sealProviderKey(dataKey: Buffer, tenantId: string, credentialKeyId: string, plaintext: string): Buffer {
  return seal(dataKey, Buffer.from(plaintext, 'utf8'), aad.providerKey(tenantId, credentialKeyId));
}

export function openProviderKey(dataKey: Buffer, tenantId: string, credentialKeyId: string, sealed: Buffer): Secret {
  return new Secret(open(dataKey, sealed, aad.providerKey(tenantId, credentialKeyId)).toString('utf8'));
}
