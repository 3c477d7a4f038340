/** The api's resources as the contract (shared/CONTRACT.md) names them. */

export interface WhoAmI {
  object: 'whoami';
  kind: 'admin' | 'api_key';
  tenant: string | null;
  api_key: string | null;
  scopes: string[];
}

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  status: 'active' | 'disabled';
}

export type VaultKeyStatus = 'active' | 'revoked' | 'expired';

export interface VaultKey {
  id: string;
  vendor: string;
  label: string | null;
  /** the credential profile's id */
  credential: string;
  credential_name: string | null;
  status: VaultKeyStatus;
  expires_at: string;
  /** null: the key has only a lifetime cap */
  daily_usd_cap: number | null;
  // lifetime cap (issue 19)
  total_usd_cap?: number | null;
  total_spent_usd?: number;
  total_reserved_usd?: number;
  // guardrails (issue 19)
  max_usd_per_call?: number | null;
  allowed_models?: string[] | null;
  /** `0` when off */
  duplicate_window?: string;
  max_calls_per_minute?: number | null;
  max_tokens_per_minute?: number | null;
  /** issue 18: images, files, server_tools a call may carry; null: all */
  allowed_inputs?: string[] | null;
  /** what finished calls cost today (UTC) */
  spent_today_usd: number;
  /** what calls in flight and proxy leases hold against the cap, not spent */
  reserved_usd: number;
  allowed_endpoints: string[];
  metadata: Record<string, string>;
  created_at: string;
  revoked_at?: string | null;
}

export interface AuditRow {
  id: string;
  vault_key_id: string | null;
  vendor: string;
  method: string;
  path: string;
  status: number;
  error_code: string | null;
  cost_usd: number;
  duration_ms: number;
  run_id: string | null;
  conversation_id: string | null;
  provider_key_id: string | null;
  created_at: string;
}

export interface ProviderKey {
  id: string;
  last4: string;
  status: 'active' | 'retired';
  created_at: string;
  retired_at?: string | null;
  /** null: a shared key; else only vault keys naming this key_group use it */
  group?: string | null;
}

/** A tenant's gateway key (kv_gw_...); `gateway_key` only in the answer that created it. */
export interface GatewayKey {
  id: string;
  name: string;
  scope: 'gateway';
  last4: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
  gateway_key?: string;
}

export interface CredentialProfile {
  id: string;
  name: string;
  vendor: string;
  strategy: 'round_robin' | 'failover';
  base_url: string | null;
  default: boolean;
  keys: ProviderKey[];
  // budgets (issue 19): what all the profile's vault keys may spend together; null: no cap
  daily_usd_cap?: number | null;
  monthly_usd_cap?: number | null;
  spent_today_usd?: number;
  reserved_today_usd?: number;
  spent_this_month_usd?: number;
  reserved_this_month_usd?: number;
}

export const WEBHOOK_EVENTS = ['vault_key.cap_threshold', 'vault_key.cap_reached', 'vault_key.revoked', 'credential.cap_threshold', 'credential.cap_reached'] as const;

export const WEBHOOK_KINDS = ['signed', 'slack', 'email'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export interface Webhook {
  id: string;
  kind: WebhookKind;
  /** null for email webhooks */
  url: string | null;
  /** recipients of an email webhook */
  to: string[] | null;
  events: string[];
  threshold_pct: number;
  created_at: string;
  /** only in the answer to its creation */
  secret?: string;
}

/** One try at a delivery. */
export interface DeliveryAttempt {
  at: string;
  /** HTTP status (SMTP reply code for email); null when none came back */
  status: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

/** One event owed to one webhook. */
export interface WebhookDelivery {
  id: string;
  event_id: string;
  event_type: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  /** true while an attempt is in flight (redeliver is refused then) */
  in_flight: boolean;
  attempt_count: number;
  attempts: DeliveryAttempt[];
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  /** when the next attempt is due (pending only) */
  next_attempt_at: string | null;
  created_at: string;
}
