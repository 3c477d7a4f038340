import type { components, operations } from './openapi.generated';

/*
 * Friendly names for the generated types. Each is an alias of the OpenAPI document's own schema,
 * so a renamed or reshaped view breaks the build here instead of drifting silently.
 */
type Schemas = components['schemas'];

export type WhoAmI = Schemas['WhoAmIView'];
export type Tenant = Schemas['TenantView'];
export type CreateTenantParams = Schemas['CreateTenantDto'];
export type UpdateTenantParams = Schemas['UpdateTenantDto'];
export type CreatedApiKey = Schemas['CreatedApiKeyView'];
/** The document only names the creation view; every other answer is it without the secret. */
export type ApiKey = Omit<CreatedApiKey, 'api_key'>;
export type CreateApiKeyParams = Schemas['CreateApiKeyDto'];
export type Credential = Schemas['CredentialView'];
export type CreateCredentialParams = Schemas['CreateCredentialDto'];
export type UpdateCredentialParams = Schemas['UpdateCredentialDto'];
export type VaultKey = Schemas['VaultKeyView'];
export type IssuedVaultKey = Schemas['IssuedVaultKeyView'];
export type IssueVaultKeyParams = Schemas['CreateVaultKeyDto'];
export type RevokeVaultKeysParams = Schemas['RevokeVaultKeysDto'];
export type AuditEntry = Schemas['AuditEntryView'];
export type GatewayKey = Schemas['GatewayKeyView'];
export type CreatedGatewayKey = Schemas['CreatedGatewayKeyView'];
export type DifyToolVendor = operations['IntegrationsController_difyTool']['parameters']['query']['vendor'];

/** `?limit=` and `?starting_after=`, as every list route takes them. */
export type ListParams = NonNullable<operations['TenantsController_list']['parameters']['query']>;
export type VaultKeyListParams = NonNullable<operations['VaultKeysController_list']['parameters']['query']>;
export type AuditListParams = NonNullable<operations['AuditController_list']['parameters']['query']>;

/** The contract's list envelope (Stripe's). */
export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}
