import createClient, { type Client } from 'openapi-fetch';
import { KeyvaultApiError, KeyvaultConnectionError } from './errors';
import type { paths } from './openapi.generated';
import type {
  ApiKey,
  AuditEntry,
  AuditListParams,
  CreateApiKeyParams,
  CreateCredentialParams,
  UpdateCredentialParams,
  CreatedApiKey,
  CreatedGatewayKey,
  CreateTenantParams,
  Credential,
  DifyToolVendor,
  GatewayKey,
  IssuedVaultKey,
  IssueVaultKeyParams,
  List,
  ListParams,
  RevokeVaultKeysParams,
  Tenant,
  UpdateTenantParams,
  VaultKey,
  VaultKeyListParams,
  WhoAmI,
} from './types';

export interface KeyvaultClientOptions {
  /** The api's base URL, e.g. http://localhost:3000 */
  apiUrl: string;
  /** The platform admin token or a tenant API key (kv_live_...) */
  apiKey: string;
  /** Admin only: act inside this tenant (sent as Keyvault-Tenant) */
  tenant?: string;
  /** A fetch to use instead of the global one (tests, proxies) */
  fetch?: (input: Request) => Promise<Response>;
}

/** Options of calls that create something: the contract's Idempotency-Key, so a retry creates nothing twice. */
export interface CreateOptions {
  idempotencyKey?: string;
}

type Answer<D> = Promise<{ data?: D; error?: unknown; response: Response }>;

/**
 * A typed client for the Keyvault api. `http` is the raw typed client (every route in the OpenAPI
 * document, checked at compile time); the grouped methods return the answer's body or throw a
 * KeyvaultApiError carrying the contract's error code, or a KeyvaultConnectionError.
 */
export function createKeyvaultClient(options: KeyvaultClientOptions) {
  const apiUrl = new URL(options.apiUrl).toString().replace(/\/+$/, '');
  const http: Client<paths> = createClient<paths>({
    baseUrl: apiUrl,
    headers: {
      Authorization: `Bearer ${options.apiKey}`,
      ...(options.tenant ? { 'Keyvault-Tenant': options.tenant } : {}),
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  /** Resolves to the body of a 2xx answer; turns anything else into one of the two error types. */
  async function unwrap<D>(call: Answer<D>): Promise<NonNullable<D>> {
    let result: Awaited<Answer<D>>;
    try {
      result = await call;
    } catch (err) {
      throw new KeyvaultConnectionError(apiUrl, err);
    }
    if (result.response.ok) return result.data as NonNullable<D>;
    throw await KeyvaultApiError.from(result.response, result.error);
  }

  /** For routes whose document names no response schema (lists): the caller states the type. */
  const unwrapAs = <T>(call: Answer<unknown>): Promise<T> => unwrap(call) as Promise<T>;
  const idempotency = (o?: CreateOptions) => (o?.idempotencyKey ? { 'Idempotency-Key': o.idempotencyKey } : undefined);

  return {
    apiUrl,
    http,

    me: (): Promise<WhoAmI> => unwrap(http.GET('/me')),

    tenants: {
      list: (query: ListParams = {}) => unwrapAs<List<Tenant>>(http.GET('/tenants', { params: { query } })),
      get: (id: string): Promise<Tenant> => unwrap(http.GET('/tenants/{id}', { params: { path: { id } } })),
      create: (body: CreateTenantParams, o?: CreateOptions): Promise<Tenant> =>
        unwrap(http.POST('/tenants', { body, headers: idempotency(o) })),
      update: (id: string, body: UpdateTenantParams): Promise<Tenant> =>
        unwrap(http.PATCH('/tenants/{id}', { params: { path: { id } }, body })),
      disable: (id: string): Promise<Tenant> => unwrap(http.POST('/tenants/{id}/disable', { params: { path: { id } } })),
      enable: (id: string): Promise<Tenant> => unwrap(http.POST('/tenants/{id}/enable', { params: { path: { id } } })),
    },

    apiKeys: {
      list: (tenantId: string, query: ListParams = {}) =>
        unwrapAs<List<ApiKey>>(http.GET('/tenants/{tenant_id}/api-keys', { params: { path: { tenant_id: tenantId }, query } })),
      create: (tenantId: string, body: CreateApiKeyParams, o?: CreateOptions): Promise<CreatedApiKey> =>
        unwrap(http.POST('/tenants/{tenant_id}/api-keys', { params: { path: { tenant_id: tenantId } }, body, headers: idempotency(o) })),
      delete: (tenantId: string, keyId: string) =>
        unwrapAs<{ id: string; object: 'api_key'; deleted: true }>(
          http.DELETE('/tenants/{tenant_id}/api-keys/{key_id}', { params: { path: { tenant_id: tenantId, key_id: keyId } } }),
        ),
    },

    /** `id` is a profile's id (cred_...) or its name, everywhere. */
    credentials: {
      list: (query: ListParams = {}) => unwrapAs<List<Credential>>(http.GET('/credentials', { params: { query } })),
      get: (id: string): Promise<Credential> => unwrap(http.GET('/credentials/{id}', { params: { path: { id } } })),
      create: (body: CreateCredentialParams, o?: CreateOptions): Promise<Credential> =>
        unwrap(http.POST('/credentials', { body, headers: idempotency(o) })),
      /** name, strategy, base_url, default, and the profile's budgets (daily_usd_cap, monthly_usd_cap; null removes one) */
      update: (id: string, body: UpdateCredentialParams): Promise<Credential> =>
        unwrap(http.PATCH('/credentials/{id}', { params: { path: { id } }, body })),
      /** `group`: only vault keys naming this key_group use the key (absent: a shared key). */
      addKey: (id: string, key: string, o?: CreateOptions & { group?: string }): Promise<Credential> =>
        unwrap(
          http.POST('/credentials/{id}/keys', {
            params: { path: { id } },
            body: { key, ...(o?.group !== undefined ? { group: o.group } : {}) },
            headers: idempotency(o),
          }),
        ),
      retireKey: (id: string, keyId: string): Promise<Credential> =>
        unwrap(http.DELETE('/credentials/{id}/keys/{key_id}', { params: { path: { id, key_id: keyId } } })),
    },

    /** Tenant-wide keys (kv_gw_...) for tools that hold one API key; each call names its vault key. */
    gatewayKeys: {
      create: (name: string, o?: CreateOptions): Promise<CreatedGatewayKey> =>
        unwrap(http.POST('/gateway-keys', { body: { name }, headers: idempotency(o) })),
      list: (query: ListParams = {}) => unwrapAs<List<GatewayKey>>(http.GET('/gateway-keys', { params: { query } })),
      get: (id: string): Promise<GatewayKey> => unwrap(http.GET('/gateway-keys/{id}', { params: { path: { id } } })),
      revoke: (id: string): Promise<GatewayKey> => unwrap(http.DELETE('/gateway-keys/{id}', { params: { path: { id } } })),
    },

    vaultKeys: {
      issue: (body: IssueVaultKeyParams, o?: CreateOptions): Promise<IssuedVaultKey> =>
        unwrap(http.POST('/vault/keys', { body, headers: idempotency(o) })),
      list: (query: VaultKeyListParams = {}) => unwrapAs<List<VaultKey>>(http.GET('/vault/keys', { params: { query } })),
      get: (id: string): Promise<VaultKey> => unwrap(http.GET('/vault/keys/{id}', { params: { path: { id } } })),
      revoke: (id: string): Promise<VaultKey> => unwrap(http.DELETE('/vault/keys/{id}', { params: { path: { id } } })),
      /** Every active key matching all the filters given (at least one). */
      revokeMatching: (filters: RevokeVaultKeysParams) => unwrap(http.POST('/vault/keys/revoke', { body: filters })),
    },

    audit: {
      list: (query: AuditListParams = {}) => unwrapAs<List<AuditEntry>>(http.GET('/audit', { params: { query } })),
    },

    integrations: {
      /** The OpenAPI document of a Dify custom tool calling `vendor` through the proxy. */
      difyToolSchema: (vendor: DifyToolVendor) =>
        unwrapAs<Record<string, unknown>>(http.GET('/integrations/dify/openapi.json', { params: { query: { vendor } } })),
    },
  };
}

export type KeyvaultClient = ReturnType<typeof createKeyvaultClient>;
