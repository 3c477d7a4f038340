/**
 * Every error code Keyvault answers with, in one list. Clients code against these
 * strings (see ../shared/CONTRACT.md), so a code is never renamed once shipped.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'api_error';

interface ErrorSpec {
  status: number;
  type: ErrorType;
}

const invalid = (status: number): ErrorSpec => ({ status, type: 'invalid_request_error' });

export const ERROR_CODES = {
  // Request shape
  parameter_invalid: invalid(400),
  parameter_missing: invalid(400),
  parameter_unknown: invalid(400),
  invalid_json: invalid(400),
  tenant_required: invalid(400),
  resource_missing: invalid(404),
  route_not_found: invalid(404),
  request_too_large: invalid(413),
  headers_too_large: invalid(431),
  malformed_request: invalid(400),
  request_timeout: invalid(408),
  idempotency_key_reused: invalid(409),
  idempotency_key_in_use: invalid(409),
  slug_taken: invalid(409),
  credential_name_taken: invalid(409),
  credential_in_use: invalid(409),
  credential_key_last: invalid(409),
  credential_key_limit: invalid(409),
  ttl_exceeds_tenant_max: invalid(422),
  no_default_credential: invalid(422),
  unpriced_request: invalid(422),
  unsafe_url: invalid(422),
  smtp_not_configured: invalid(422),
  delivery_in_progress: invalid(409),
  // gateway keys and key groups (issue 20)
  vault_key_id_conflict: invalid(400),
  unknown_key_group: invalid(422),
  // a vault key needs daily_usd_cap, total_usd_cap, or both (issue 19)
  cap_required: invalid(400),

  // Callers of the api
  invalid_api_key: { status: 401, type: 'authentication_error' },
  token_in_query: { status: 401, type: 'authentication_error' },
  insufficient_scope: { status: 403, type: 'permission_error' },
  admin_only: { status: 403, type: 'permission_error' },
  too_many_exports: { status: 429, type: 'rate_limit_error' },

  // Callers of the proxy
  invalid_vault_key: { status: 401, type: 'authentication_error' },
  vault_key_expired: { status: 401, type: 'authentication_error' },
  vault_key_revoked: { status: 401, type: 'authentication_error' },
  tenant_disabled: { status: 401, type: 'authentication_error' },
  vault_key_required: { status: 401, type: 'authentication_error' },
  vendor_mismatch: { status: 403, type: 'permission_error' },
  endpoint_not_allowed: { status: 403, type: 'permission_error' },
  daily_cap_exceeded: { status: 429, type: 'rate_limit_error' },
  // guardrails (issue 19)
  per_call_limit_exceeded: { status: 403, type: 'permission_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  // issue 18: an image, file or server tool in an LLM call on a key whose allowed_inputs leave it out
  input_not_allowed: { status: 403, type: 'permission_error' },
  duplicate_request: invalid(409),
  rate_limited: { status: 429, type: 'rate_limit_error' },
  total_cap_exceeded: { status: 429, type: 'rate_limit_error' },
  // budgets above the key (issue 19)
  profile_cap_exceeded: { status: 429, type: 'rate_limit_error' },
  tenant_cap_exceeded: { status: 429, type: 'rate_limit_error' },
  too_many_failed_authentications: { status: 429, type: 'rate_limit_error' },

  // Upstream and our own availability
  upstream_unreachable: { status: 502, type: 'api_error' },
  upstream_timeout: { status: 504, type: 'api_error' },
  upstream_busy: { status: 503, type: 'api_error' },
  vault_unavailable: { status: 503, type: 'api_error' },
  internal_error: { status: 500, type: 'api_error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
