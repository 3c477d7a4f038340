import { newId } from '@keyvault/crypto';
import { queryDb } from '@keyvault/testing';
import type { ApiHarness } from './api';

export interface CredentialProfileFixture {
  id: string;
  name: string;
  vendor: string;
}

/**
 * A credential profile (without provider keys), written straight into the table. It stands in
 * for `POST /credentials` until that API lands; tests call only this helper, so swapping it for
 * the API later changes this one file.
 */
export async function createCredentialProfile(
  api: Pick<ApiHarness, 'db'>,
  tenantId: string,
  profile: { name: string; vendor: string; isDefault?: boolean; strategy?: 'round_robin' | 'failover' },
): Promise<CredentialProfileFixture> {
  const id = newId('credential');
  await queryDb(
    api.db.url,
    `INSERT INTO credential_profiles (id, tenant_id, name, vendor, strategy, is_default) VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, tenantId, profile.name, profile.vendor, profile.strategy ?? 'round_robin', profile.isDefault ?? false],
  );
  return { id, name: profile.name, vendor: profile.vendor };
}

/** A profile deleted as `DELETE /credentials/{id}` leaves it: soft-deleted, its row kept. */
export async function deleteCredentialProfile(api: Pick<ApiHarness, 'db'>, tenantId: string, id: string): Promise<void> {
  await queryDb(api.db.url, 'UPDATE credential_profiles SET deleted_at = now() WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
}
