/**
 * Postgres LISTEN/NOTIFY channels that keep every proxy instance's caches true.
 * Payloads are JSON and small (NOTIFY caps them at 8000 bytes): ids, never secrets.
 */
export const CHANNELS = {
  /** {"vault_key_ids": [...]} or {"tenant_id": "..."} : drop those cached verdicts */
  vaultKeys: 'keyvault_vault_keys',
  /** {"credential_id": "..."} or {"tenant_id": "..."} : reload that profile's keys */
  credentials: 'keyvault_credentials',
  /** {"kid": "..."} : a signing key was added or retired */
  signingKeys: 'keyvault_signing_keys',
  /** {"gateway_key_ids": [...]} : drop those cached gateway key verdicts */
  gatewayKeys: 'keyvault_gateway_keys',
} as const;

export type VaultKeysNotice = { vault_key_ids: string[] } | { tenant_id: string };
export type CredentialsNotice = { credential_id: string } | { tenant_id: string };
export type GatewayKeysNotice = { gateway_key_ids: string[] };
