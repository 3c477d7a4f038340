import type { ApiKeyScope } from '@keyvault/db';

/** Who is calling the api. The admin may act inside one tenant via the Keyvault-Tenant header. */
export type Principal =
  | { kind: 'admin'; tenantId: string | null }
  | { kind: 'api_key'; tenantId: string; apiKeyId: string; scopes: readonly ApiKeyScope[] };

export interface AuthenticatedRequest {
  principal?: Principal;
  headers: Record<string, string | string[] | undefined>;
}
