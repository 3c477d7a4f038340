import { randomBytes } from 'node:crypto';
import type request from 'supertest';

/** What the fixtures need of a harness: supertest calls carrying the admin token. */
export interface AdminCalls {
  admin: () => { post: (path: string) => request.Test; delete: (path: string) => request.Test };
}

export interface CredentialProfileFixture {
  id: string;
  name: string;
  vendor: string;
}

/** A credential profile created through the public API (`POST /credentials`) as the admin acting in the tenant. */
export async function createCredentialProfile(
  api: AdminCalls,
  tenantId: string,
  profile: { name: string; vendor: string; isDefault?: boolean; strategy?: 'round_robin' | 'failover'; baseUrl?: string },
): Promise<CredentialProfileFixture> {
  const res = await api
    .admin()
    .post('/credentials')
    .set('Keyvault-Tenant', tenantId)
    .send({
      name: profile.name,
      vendor: profile.vendor,
      keys: [`sk-test-${randomBytes(12).toString('hex')}`],
      strategy: profile.strategy ?? 'round_robin',
      default: profile.isDefault ?? false,
      ...(profile.baseUrl ? { base_url: profile.baseUrl } : {}),
    });
  if (res.status !== 201) throw new Error(`POST /credentials → ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, name: res.body.name, vendor: res.body.vendor };
}

/** `DELETE /credentials/{id}?revoke_vault_keys=true`: the profile goes, its vault keys are revoked. */
export async function deleteCredentialProfile(api: AdminCalls, tenantId: string, id: string): Promise<void> {
  const res = await api.admin().delete(`/credentials/${id}?revoke_vault_keys=true`).set('Keyvault-Tenant', tenantId);
  if (res.status !== 200) throw new Error(`DELETE /credentials/${id} → ${res.status} ${JSON.stringify(res.body)}`);
}
