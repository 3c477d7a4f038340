import createClient, { type Client } from 'openapi-fetch';
import { KeyvaultApiError, KeyvaultConnectionError } from './errors';
import type { paths } from './openapi.generated';
import type { ApiKey, CreateApiKeyParams, CreatedApiKey, CreateTenantParams, List, ListParams, Tenant, UpdateTenantParams, WhoAmI } from './types';

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
  };
}

export type KeyvaultClient = ReturnType<typeof createKeyvaultClient>;
