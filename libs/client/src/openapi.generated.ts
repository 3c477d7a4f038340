/**
 * Types of the Keyvault api, generated from its live OpenAPI document (GET /openapi.json).
 * Do not edit: run `npm run client:generate` after changing a route, DTO or view.
 */

export interface paths {
    "/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["MeController_whoami"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["HealthController_live"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["HealthController_ready"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["TenantsController_list"];
        put?: never;
        post: operations["TenantsController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["TenantsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch: operations["TenantsController_update"];
        trace?: never;
    };
    "/tenants/{id}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["TenantsController_disable"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants/{id}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["TenantsController_enable"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants/{tenant_id}/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["ApiKeysController_list"];
        put?: never;
        post: operations["ApiKeysController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants/{tenant_id}/api-keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["ApiKeysController_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["CredentialsController_list"];
        put?: never;
        post: operations["CredentialsController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/credentials/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["CredentialsController_get"];
        put?: never;
        post?: never;
        delete: operations["CredentialsController_remove"];
        options?: never;
        head?: never;
        patch: operations["CredentialsController_update"];
        trace?: never;
    };
    "/credentials/{id}/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["CredentialsController_addKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/credentials/{id}/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["CredentialsController_retireKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/tenants/{id}/rotate-data-key": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["TenantKeysController_rotateDataKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/signing-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["SigningKeysController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/signing-keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["SigningKeysController_rotate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vault/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["VaultKeysController_list"];
        put?: never;
        post: operations["VaultKeysController_issue"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vault/keys/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["VaultKeysController_revokeMatching"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vault/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["VaultKeysController_get"];
        put?: never;
        post?: never;
        delete: operations["VaultKeysController_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/vault/keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["VaultKeysController_revoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["AuditController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["AuditController_export"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["AuditController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["WebhooksController_list"];
        put?: never;
        post: operations["WebhooksController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["WebhooksController_get"];
        put?: never;
        post?: never;
        delete: operations["WebhooksController_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["WebhooksController_deliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks/{id}/deliveries/{delivery_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["WebhooksController_delivery"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/webhooks/{id}/deliveries/{delivery_id}/redeliver": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["WebhooksController_redeliver"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["UsageController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/integrations/dify/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["IntegrationsController_difyTool"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/gateway-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["GatewayKeysController_list"];
        put?: never;
        post: operations["GatewayKeysController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/gateway-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["GatewayKeysController_get"];
        put?: never;
        post?: never;
        delete: operations["GatewayKeysController_revoke"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/gateway-keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["GatewayKeysController_revokeByPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        WhoAmIView: {
            /** @enum {string} */
            object: "whoami";
            /** @enum {string} */
            kind: "admin" | "api_key";
            tenant?: string | null;
            api_key?: string | null;
            scopes: ("vault_keys:issue" | "vault_keys:read" | "vault_keys:revoke" | "credentials:read" | "credentials:write" | "audit:read" | "webhooks:write")[];
        };
        CreateTenantDto: {
            /** @example Client A */
            name: string;
            /**
             * @description Lowercase letters, digits and dashes; derived from name when absent.
             * @example client-a
             */
            slug?: string;
            /**
             * @description Longest expires_in a vault key of this tenant may have.
             * @default 30d
             * @example 30d
             */
            max_vault_key_ttl?: string;
            /**
             * @description USD the tenant's vault keys may spend together per calendar month (UTC), across every proxy instance; a call that would pass it is refused (429 tenant_cap_exceeded, Retry-After: seconds to the month's end). null (or absent): none; PATCH with null removes it
             * @example 5000
             */
            monthly_usd_cap?: number | null;
        };
        TenantView: {
            /** @example ten_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "tenant";
            name: string;
            slug: string;
            /** @enum {string} */
            status: "active" | "disabled";
            /** @example 30d */
            max_vault_key_ttl: string;
            /**
             * @description USD the tenant's keys may spend together per calendar month (UTC); null: no cap
             * @example 5000
             */
            monthly_usd_cap: number | null;
            /**
             * @description The calendar month (UTC) the spend below is for
             * @example 2026-12
             */
            month: string;
            /**
             * @description What the tenant's finished calls cost this month, USD (up to 9 decimals)
             * @example 1234.5
             */
            spent_this_month_usd: number;
            /**
             * @description USD held against monthly_usd_cap now and not spent (calls in flight, proxy leases); spent_this_month_usd + reserved_this_month_usd never passes monthly_usd_cap
             * @example 0.3
             */
            reserved_this_month_usd: number;
            created_at: string;
            updated_at: string;
        };
        UpdateTenantDto: {
            /** @example Client A */
            name?: string;
            /**
             * @description Lowercase letters, digits and dashes; derived from name when absent.
             * @example client-a
             */
            slug?: string;
            /**
             * @description Longest expires_in a vault key of this tenant may have.
             * @default 30d
             * @example 30d
             */
            max_vault_key_ttl?: string;
            /**
             * @description USD the tenant's vault keys may spend together per calendar month (UTC), across every proxy instance; a call that would pass it is refused (429 tenant_cap_exceeded, Retry-After: seconds to the month's end). null (or absent): none; PATCH with null removes it
             * @example 5000
             */
            monthly_usd_cap?: number | null;
        };
        CreateApiKeyDto: {
            /** @example chat backend */
            name: string;
            /** @description Default: every scope. */
            scopes?: ("vault_keys:issue" | "vault_keys:read" | "vault_keys:revoke" | "credentials:read" | "credentials:write" | "audit:read" | "webhooks:write")[];
        };
        CreatedApiKeyView: {
            /** @example tak_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "api_key";
            tenant: string;
            name: string;
            scopes: ("vault_keys:issue" | "vault_keys:read" | "vault_keys:revoke" | "credentials:read" | "credentials:write" | "audit:read" | "webhooks:write")[];
            created_at: string;
            last_used_at?: string | null;
            /** @description The key itself (kv_live_...). Shown only in this response. */
            api_key: string;
        };
        CreateCredentialDto: {
            /** @example client_a_openai */
            name: string;
            /**
             * @example openai
             * @enum {string}
             */
            vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            /** @description The provider's real keys (8 to 4096 characters, no whitespace). Stored encrypted; no response ever shows them again, only their last 4 characters. */
            keys: string[];
            /**
             * @description How the proxy spreads calls over the keys.
             * @default round_robin
             * @enum {string}
             */
            strategy?: "round_robin" | "failover";
            /**
             * @description Required for openai_compatible; otherwise overrides the vendor URL. https and a public address unless KEYVAULT_ALLOW_PRIVATE_UPSTREAMS.
             * @example https://api.groq.com/openai
             */
            base_url?: string;
            /** @description The vendor's default profile for vault keys that name none. The vendor's first profile becomes default when absent. */
            default?: boolean;
            /**
             * @description USD the profile's vault keys may spend together per UTC day, across every proxy instance; a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to UTC midnight). null: none
             * @example 10
             */
            daily_usd_cap?: number | null;
            /**
             * @description USD the profile's vault keys may spend together per calendar month (UTC); a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to the month's end). null: none
             * @example 250
             */
            monthly_usd_cap?: number | null;
        };
        CredentialKeyView: {
            /** @example ck_01jd8x0000000000000000000 */
            id: string;
            /**
             * @description The last 4 characters of the key
             * @example x7Qa
             */
            last4: string;
            /** @enum {string} */
            status: "active" | "retired";
            created_at: string;
            retired_at?: string | null;
            /**
             * @description null: a shared key; else only vault keys naming this key_group use it
             * @example team-a
             */
            group: string | null;
        };
        CredentialView: {
            /** @example cred_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "credential";
            /** @example client_a_openai */
            name: string;
            /** @enum {string} */
            vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            /** @enum {string} */
            strategy: "round_robin" | "failover";
            base_url?: string | null;
            default: boolean;
            /** @description In failover order; retired keys stay listed as retired. */
            keys: components["schemas"]["CredentialKeyView"][];
            /**
             * @description USD the profile's vault keys may spend together per UTC day; null: no cap
             * @example 10
             */
            daily_usd_cap: number | null;
            /**
             * @description USD the profile's vault keys may spend together per calendar month (UTC); null: no cap
             * @example 250
             */
            monthly_usd_cap: number | null;
            /**
             * @description The UTC day the *_today_usd fields are for
             * @example 2026-12-07
             */
            day: string;
            /**
             * @description What the profile's finished calls cost today (UTC), USD (up to 9 decimals)
             * @example 3.2
             */
            spent_today_usd: number;
            /**
             * @description USD held against daily_usd_cap now and not spent (calls in flight, proxy leases); spent + reserved never passes the cap
             * @example 0.3
             */
            reserved_today_usd: number;
            /**
             * @description The calendar month (UTC) the *_this_month_usd fields are for
             * @example 2026-12
             */
            month: string;
            /**
             * @description What the profile's finished calls cost this month (UTC), USD
             * @example 120.75
             */
            spent_this_month_usd: number;
            /**
             * @description USD held against monthly_usd_cap now and not spent
             * @example 0.3
             */
            reserved_this_month_usd: number;
            created_at: string;
            updated_at: string;
        };
        UpdateCredentialDto: {
            /** @example client_a_openai */
            name?: string;
            /** @enum {string} */
            strategy?: "round_robin" | "failover";
            /** @description null clears the override (not for openai_compatible). */
            base_url?: string | null;
            /** @description true makes this the vendor default (unsetting the previous one); false unsets it. */
            default?: boolean;
            /**
             * @description USD the profile's vault keys may spend together per UTC day, across every proxy instance; a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to UTC midnight). null: none; null removes it
             * @example 10
             */
            daily_usd_cap?: number | null;
            /**
             * @description USD the profile's vault keys may spend together per calendar month (UTC); a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to the month's end). null: none; null removes it
             * @example 250
             */
            monthly_usd_cap?: number | null;
        };
        AddCredentialKeyDto: {
            /** @description One more real provider key (8 to 4096 characters, no whitespace). Add the new key, then retire the old one: rotation without downtime. */
            key: string;
            /**
             * @description Only vault keys naming this key_group use this key (one user's or one team's own key). Absent: a shared key.
             * @example team-a
             */
            group?: string;
        };
        DeletedCredentialView: {
            id: string;
            /** @enum {string} */
            object: "credential";
            /** @enum {boolean} */
            deleted: true;
            /** @description How many active vault keys were revoked with it */
            revoked_vault_keys: number;
        };
        DataKeyRotationView: {
            /** @enum {string} */
            object: "data_key_rotation";
            /** @example ten_01jd8x0000000000000000000 */
            tenant: string;
            /**
             * @description The tenant's data key version now in use
             * @example 2
             */
            data_key_version: number;
            /** @description Provider keys re-encrypted under the new data key */
            credential_keys: number;
            /** @description Webhook secrets re-encrypted under the new data key */
            webhook_secrets: number;
        };
        SigningKeyView: {
            /**
             * @description The kid in vault-key token headers
             * @example sig_01jd8x0000000000000000000
             */
            id: string;
            /** @enum {string} */
            object: "signing_key";
            /** @example sig_01jd8x0000000000000000000 */
            kid: string;
            /** @example EdDSA */
            algorithm: string;
            /**
             * @description Retired keys still verify the tokens they signed until those expire.
             * @enum {string}
             */
            status: "active" | "retired";
            /** @description Ed25519 public key, SPKI PEM */
            public_key: string;
            created_at: string;
        };
        CreateVaultKeyDto: {
            /**
             * @example stripe
             * @enum {string}
             */
            vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            /**
             * @description Credential profile name or id. Default: the tenant's default profile for the vendor.
             * @example client_a_stripe
             */
            credential?: string;
            /**
             * @description USD per UTC day, above 0, at most 1000000, at most 9 decimals. Required unless total_usd_cap is set (400 cap_required when neither is)
             * @example 100
             */
            daily_usd_cap?: number;
            /**
             * @description USD over the key's whole life, across every day, beside daily_usd_cap (either or both; 400 cap_required when neither is set). A call that would pass it is refused (429 total_cap_exceeded, no Retry-After: it never resets)
             * @example 500
             */
            total_usd_cap?: number;
            /**
             * @description USD: a call whose known cost (Stripe amount, Twilio message, Resend email) or LLM worst case is above it is refused (403 per_call_limit_exceeded) before anything is sent
             * @example 100
             */
            max_usd_per_call?: number;
            /**
             * @description LLM vendors only: globs (`*` any characters) matched on the body's `model`; any other model is refused (403 model_not_allowed)
             * @example [
             *       "gpt-4o-mini",
             *       "claude-3-5-haiku-*"
             *     ]
             */
            allowed_models?: string[];
            /**
             * @description LLM vendors only: the inputs a body's bytes do not bound that calls may carry: `images`, `files` (documents, PDFs), `server_tools` (tools the vendor runs, e.g. web search). Each reserves the price list's worst case. A call carrying another kind is refused (403 input_not_allowed). `[]` refuses all three; absent: all three
             * @example [
             *       "images"
             *     ]
             */
            allowed_inputs?: ("images" | "files" | "server_tools")[];
            /**
             * @description Within this window a second money-moving call with the same method, path and body is a duplicate: Stripe answers the first object (the proxy sends the first call's Idempotency-Key), Twilio and Resend duplicates are refused (409 duplicate_request). `0` turns it off; at most 24h. Default: 10m for stripe, twilio and resend, 0 for the rest
             * @example 10m
             */
            duplicate_window?: string;
            /**
             * @description Calls admitted in any 60 s window, across all proxy instances; more are refused (429 rate_limited, Retry-After)
             * @example 30
             */
            max_calls_per_minute?: number;
            /**
             * @description LLM vendors: tokens (each call counted at its worst case when admitted, settled to its usage) in any 60 s window, across all proxy instances (429 rate_limited, Retry-After)
             * @example 200000
             */
            max_tokens_per_minute?: number;
            /**
             * @example [
             *       "POST /v1/payment_intents"
             *     ]
             */
            allowed_endpoints: string[];
            /**
             * @description Header names (case-insensitive) this key lets through in both directions beyond its vendor's allowlist, e.g. anthropic-beta. Never authorization, x-api-key, host or hop-by-hop headers. Default: none.
             * @example [
             *       "anthropic-beta"
             *     ]
             */
            allowed_headers?: string[];
            /**
             * @description 30m, 2h, 72h, 7d...; at most the tenant's max_vault_key_ttl
             * @example 2h
             */
            expires_in: string;
            /** @example dify-chat-42-s1 */
            label?: string;
            /**
             * @description Flat map of strings: at most 50 keys of 40 characters, values of 500
             * @example {
             *       "user_id": "u_42",
             *       "conversation_id": "c_9"
             *     }
             */
            metadata?: {
                [key: string]: string;
            };
            /**
             * @description Use only the profile's provider keys of this group (round robin or failover within it). Absent: the profile's shared keys (those without a group). Unknown in the profile: 422 unknown_key_group.
             * @example team-a
             */
            key_group?: string;
            /**
             * @description With key_group: use the profile's shared keys once the group's keys are all cooling down (quota, rate limit).
             * @default false
             */
            fallback_to_shared?: boolean;
            /**
             * @description What the proxy keeps of this key's calls, sealed and redacted, readable at GET /audit/{id}: none, metadata (headers), or bodies (headers and bodies)
             * @default none
             * @enum {string}
             */
            capture?: "none" | "metadata" | "bodies";
        };
        IssuedVaultKeyView: {
            /** @example vk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "vault_key";
            /** @enum {string} */
            vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            /**
             * @description The credential profile id
             * @example cred_01jd8x0000000000000000000
             */
            credential: string;
            credential_name?: string | null;
            /**
             * @description USD per UTC day (up to 9 decimals); null: no daily cap (the key has a total_usd_cap)
             * @example 100
             */
            daily_usd_cap: number | null;
            /**
             * @description USD over the key's whole life; null: no lifetime cap
             * @example 500
             */
            total_usd_cap: number | null;
            /**
             * @description What finished calls cost over the key's whole life, USD (up to 9 decimals)
             * @example 42.5
             */
            total_spent_usd: number;
            /**
             * @description USD held against total_usd_cap now and not spent (calls in flight, proxy leases); total_spent_usd + total_reserved_usd never passes total_usd_cap
             * @example 0.05
             */
            total_reserved_usd: number;
            /**
             * @description USD: the largest call (known cost or LLM worst case) admitted; null: no limit
             * @example 100
             */
            max_usd_per_call: number | null;
            /**
             * @description Model globs admitted for LLM calls; null: any priced model
             * @example [
             *       "gpt-4o-mini"
             *     ]
             */
            allowed_models: string[] | null;
            /**
             * @description The window in which a repeated money-moving call is a duplicate; `0`: off
             * @example 10m
             */
            duplicate_window: string;
            /**
             * @description Calls admitted in any 60 s window; null: no limit
             * @example 30
             */
            max_calls_per_minute: number | null;
            /**
             * @description LLM tokens admitted in any 60 s window; null: no limit
             * @example 200000
             */
            max_tokens_per_minute: number | null;
            /**
             * @description LLM inputs the body's bytes do not bound that calls may carry (images, files, server_tools); null: all
             * @example [
             *       "images"
             *     ]
             */
            allowed_inputs: ("images" | "files" | "server_tools")[] | null;
            /**
             * @example [
             *       "POST /v1/payment_intents"
             *     ]
             */
            allowed_endpoints: string[];
            /**
             * @description Header names let through beyond the vendor's allowlist (lowercase)
             * @example []
             */
            allowed_headers: string[];
            expires_at: string;
            label?: string | null;
            metadata: {
                [key: string]: string;
            };
            /** @enum {string} */
            capture: "none" | "metadata" | "bodies";
            /** @enum {string} */
            status: "active" | "revoked" | "expired";
            /**
             * @description What finished calls cost in the current UTC day, USD (up to 9 decimals)
             * @example 12.34
             */
            spent_today_usd: number;
            /**
             * @description USD held against the cap now and not spent: the worst cases of calls in flight and the room proxy instances lease ahead (given back within about a second of traffic stopping). spent_today_usd + reserved_usd never passes daily_usd_cap.
             * @example 0.05
             */
            reserved_usd: number;
            created_at: string;
            revoked_at?: string | null;
            /**
             * @description The provider keys this key's calls use: that group's; null: the profile's shared keys
             * @example team-a
             */
            key_group: string | null;
            /** @description With key_group: use the profile's shared keys once the group's keys are all cooling down */
            fallback_to_shared: boolean;
            /**
             * @description The vault key itself. Shown only in this response.
             * @example vault_key_eyJhbGciOiJFZERTQSIs...
             */
            vault_key: string;
        };
        RevokeVaultKeysDto: {
            /** @example dify-chat-42-s1 */
            label?: string;
            /** @description Credential profile name or id */
            credential?: string;
            /**
             * @example {
             *       "user_id": "u_42"
             *     }
             */
            metadata?: {
                [key: string]: string;
            };
        };
        RevocationView: {
            /** @enum {string} */
            object: "revocation";
            /** @description How many active vault keys were revoked */
            revoked: number;
        };
        VaultKeyView: {
            /** @example vk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "vault_key";
            /** @enum {string} */
            vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            /**
             * @description The credential profile id
             * @example cred_01jd8x0000000000000000000
             */
            credential: string;
            credential_name?: string | null;
            /**
             * @description USD per UTC day (up to 9 decimals); null: no daily cap (the key has a total_usd_cap)
             * @example 100
             */
            daily_usd_cap: number | null;
            /**
             * @description USD over the key's whole life; null: no lifetime cap
             * @example 500
             */
            total_usd_cap: number | null;
            /**
             * @description What finished calls cost over the key's whole life, USD (up to 9 decimals)
             * @example 42.5
             */
            total_spent_usd: number;
            /**
             * @description USD held against total_usd_cap now and not spent (calls in flight, proxy leases); total_spent_usd + total_reserved_usd never passes total_usd_cap
             * @example 0.05
             */
            total_reserved_usd: number;
            /**
             * @description USD: the largest call (known cost or LLM worst case) admitted; null: no limit
             * @example 100
             */
            max_usd_per_call: number | null;
            /**
             * @description Model globs admitted for LLM calls; null: any priced model
             * @example [
             *       "gpt-4o-mini"
             *     ]
             */
            allowed_models: string[] | null;
            /**
             * @description The window in which a repeated money-moving call is a duplicate; `0`: off
             * @example 10m
             */
            duplicate_window: string;
            /**
             * @description Calls admitted in any 60 s window; null: no limit
             * @example 30
             */
            max_calls_per_minute: number | null;
            /**
             * @description LLM tokens admitted in any 60 s window; null: no limit
             * @example 200000
             */
            max_tokens_per_minute: number | null;
            /**
             * @description LLM inputs the body's bytes do not bound that calls may carry (images, files, server_tools); null: all
             * @example [
             *       "images"
             *     ]
             */
            allowed_inputs: ("images" | "files" | "server_tools")[] | null;
            /**
             * @example [
             *       "POST /v1/payment_intents"
             *     ]
             */
            allowed_endpoints: string[];
            /**
             * @description Header names let through beyond the vendor's allowlist (lowercase)
             * @example []
             */
            allowed_headers: string[];
            expires_at: string;
            label?: string | null;
            metadata: {
                [key: string]: string;
            };
            /** @enum {string} */
            capture: "none" | "metadata" | "bodies";
            /** @enum {string} */
            status: "active" | "revoked" | "expired";
            /**
             * @description What finished calls cost in the current UTC day, USD (up to 9 decimals)
             * @example 12.34
             */
            spent_today_usd: number;
            /**
             * @description USD held against the cap now and not spent: the worst cases of calls in flight and the room proxy instances lease ahead (given back within about a second of traffic stopping). spent_today_usd + reserved_usd never passes daily_usd_cap.
             * @example 0.05
             */
            reserved_usd: number;
            created_at: string;
            revoked_at?: string | null;
            /**
             * @description The provider keys this key's calls use: that group's; null: the profile's shared keys
             * @example team-a
             */
            key_group: string | null;
            /** @description With key_group: use the profile's shared keys once the group's keys are all cooling down */
            fallback_to_shared: boolean;
        };
        AuditEntryView: {
            /** @example aud_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "audit_entry";
            vault_key_id: string | null;
            vendor: string;
            method: string;
            /** @description The vendor path, without query string */
            path: string;
            /** @description HTTP status returned to the caller */
            status: number;
            /** @description Keyvault's error code when it refused the call */
            error_code: string | null;
            /** @description What the call cost, USD: exactly its usage times its price (up to 9 decimals) */
            cost_usd: number;
            duration_ms: number;
            run_id: string | null;
            conversation_id: string | null;
            provider_key_id: string | null;
            credential_id: string | null;
            created_at: string;
        };
        AuditEntryDetailView: {
            /** @example aud_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "audit_entry";
            vault_key_id: string | null;
            vendor: string;
            method: string;
            /** @description The vendor path, without query string */
            path: string;
            /** @description HTTP status returned to the caller */
            status: number;
            /** @description Keyvault's error code when it refused the call */
            error_code: string | null;
            /** @description What the call cost, USD: exactly its usage times its price (up to 9 decimals) */
            cost_usd: number;
            duration_ms: number;
            run_id: string | null;
            conversation_id: string | null;
            provider_key_id: string | null;
            credential_id: string | null;
            created_at: string;
            /** @description {level, request: {headers, body?}, response: {status, headers, body?, stream?} | null}; bodies are {text, encoding, bytes, truncated}; stream is {text, usage, events} for SSE. Credentials are redacted before storage. */
            capture: {
                [key: string]: unknown;
            } | null;
        };
        CreateWebhookDto: {
            /**
             * @description signed JSON to `url`, a Slack incoming webhook at `url`, or email to `to`
             * @default signed
             * @enum {string}
             */
            kind?: "signed" | "slack" | "email";
            /**
             * @description https, on a public address; required unless kind is email
             * @example https://ops.example.com/keyvault-events
             */
            url?: string;
            /**
             * @description recipients of an email webhook (kind email only)
             * @example [
             *       "ops@example.com"
             *     ]
             */
            to?: string[];
            events: ("vault_key.cap_threshold" | "vault_key.cap_reached" | "vault_key.revoked" | "credential.cap_threshold" | "credential.cap_reached")[];
            /**
             * @description vault_key.cap_threshold fires when a key spends this share of its daily cap
             * @default 80
             */
            threshold_pct?: number;
        };
        CreatedWebhookView: {
            /** @example whk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "webhook";
            /** @enum {string} */
            kind: "signed" | "slack" | "email";
            /** @description null for email webhooks */
            url: string | null;
            /** @description recipients (email webhooks only) */
            to: string[] | null;
            events: ("vault_key.cap_threshold" | "vault_key.cap_reached" | "vault_key.revoked" | "credential.cap_threshold" | "credential.cap_reached")[];
            threshold_pct: number;
            created_at: string;
            /** @description Signing secret (whsec_...) of a signed webhook. Shown only in this response. */
            secret?: string;
        };
        WebhookView: {
            /** @example whk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "webhook";
            /** @enum {string} */
            kind: "signed" | "slack" | "email";
            /** @description null for email webhooks */
            url: string | null;
            /** @description recipients (email webhooks only) */
            to: string[] | null;
            events: ("vault_key.cap_threshold" | "vault_key.cap_reached" | "vault_key.revoked" | "credential.cap_threshold" | "credential.cap_reached")[];
            threshold_pct: number;
            created_at: string;
        };
        DeliveryAttemptView: {
            /** @description When the attempt started */
            at: string;
            /** @description The receiver's HTTP status (the SMTP reply code for email); null when none came back */
            status: number | null;
            duration_ms: number;
            error: string | null;
            /** @description The start of the receiver's answer */
            response_excerpt: string | null;
        };
        WebhookDeliveryView: {
            /** @example whd_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "webhook_delivery";
            webhook_id: string;
            /** @description The event id, also sent as Keyvault-Event-Id */
            event_id: string;
            /** @enum {string|null} */
            event_type: "vault_key.cap_threshold" | "vault_key.cap_reached" | "vault_key.revoked" | "credential.cap_threshold" | "credential.cap_reached" | null;
            /** @enum {string} */
            status: "pending" | "succeeded" | "failed";
            /** @description true while an attempt is in flight */
            in_flight: boolean;
            /** @description How many attempts were made */
            attempt_count: number;
            /** @description Every attempt, oldest first */
            attempts: components["schemas"]["DeliveryAttemptView"][];
            last_status_code: number | null;
            last_error: string | null;
            last_attempt_at: string | null;
            /** @description When the next attempt is due (pending only) */
            next_attempt_at: string | null;
            created_at: string;
        };
        UsageBucketView: {
            /** @description The vault key id, profile id, label, day (YYYY-MM-DD) or hour (ISO, UTC); null: calls without one */
            key: string | null;
            /** @description The vault key's label or the profile's name, when grouped by those */
            label: string | null;
            /** @description USD, exactly the sum of the calls booked (up to 9 decimals) */
            spent_usd: number;
            calls: number;
            /** @description Calls Keyvault refused (an error code) */
            refused: number;
        };
        RefusalCountView: {
            /** @example daily_cap_exceeded */
            code: string;
            count: number;
        };
        UsageView: {
            /** @enum {string} */
            object: "usage";
            /** @enum {string} */
            group_by: "vault_key" | "credential" | "label" | "day" | "hour";
            from: string;
            to: string;
            total_usd: number;
            calls: number;
            /** @description Biggest spend first; oldest first for day and hour (every bucket of the range) */
            data: components["schemas"]["UsageBucketView"][];
            /** @description Refusals in the range by error code, most first */
            refusals: components["schemas"]["RefusalCountView"][];
        };
        CreateGatewayKeyDto: {
            /**
             * @description What the key is pasted into, for the operator
             * @example dify production
             */
            name: string;
        };
        CreatedGatewayKeyView: {
            /** @example gwk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "gateway_key";
            name: string;
            /**
             * @description Accepted by the proxy only, and only together with the id of one of the tenant's vault keys (X-Vault-Key-Id, the OpenAI body's user, or a first system-prompt line)
             * @enum {string}
             */
            scope: "gateway";
            /**
             * @description The last 4 characters of the key, to tell keys apart
             * @example x9k2
             */
            last4: string;
            /** @enum {string} */
            status: "active" | "revoked";
            created_at: string;
            revoked_at?: string | null;
            /**
             * @description The key itself. Shown only in this response.
             * @example kv_gw_...
             */
            gateway_key: string;
        };
        GatewayKeyView: {
            /** @example gwk_01jd8x0000000000000000000 */
            id: string;
            /** @enum {string} */
            object: "gateway_key";
            name: string;
            /**
             * @description Accepted by the proxy only, and only together with the id of one of the tenant's vault keys (X-Vault-Key-Id, the OpenAI body's user, or a first system-prompt line)
             * @enum {string}
             */
            scope: "gateway";
            /**
             * @description The last 4 characters of the key, to tell keys apart
             * @example x9k2
             */
            last4: string;
            /** @enum {string} */
            status: "active" | "revoked";
            created_at: string;
            revoked_at?: string | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    MeController_whoami: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WhoAmIView"];
                };
            };
        };
    };
    HealthController_live: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is up. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    HealthController_ready: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The Health Check is successful */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /**
                         * @example ok
                         * @enum {string}
                         */
                        status?: "ok" | "degraded";
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 12
                         *       }
                         *     }
                         */
                        info?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        } | null;
                        /** @example {} */
                        error?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        } | null;
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 12
                         *       }
                         *     }
                         */
                        details?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description The Health Check is not successful */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /**
                         * @example error
                         * @enum {string}
                         */
                        status?: "error" | "shutting_down";
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 12
                         *       }
                         *     }
                         */
                        info?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        } | null;
                        /**
                         * @example {
                         *       "redis": {
                         *         "status": "down",
                         *         "message": "Could not connect",
                         *         "responseTime": 3005
                         *       }
                         *     }
                         */
                        error?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        } | null;
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 12
                         *       },
                         *       "redis": {
                         *         "status": "down",
                         *         "message": "Could not connect",
                         *         "responseTime": 3005
                         *       }
                         *     }
                         */
                        details?: {
                            [key: string]: {
                                /** @enum {string} */
                                status: "up" | "degraded" | "down";
                                /** @description Time the health indicator took to respond, in ms */
                                responseTime?: number;
                            } & {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    TenantsController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    TenantsController_create: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTenantDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantView"];
                };
            };
        };
    };
    TenantsController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantView"];
                };
            };
        };
    };
    TenantsController_update: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateTenantDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantView"];
                };
            };
        };
    };
    TenantsController_disable: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantView"];
                };
            };
        };
    };
    TenantsController_enable: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantView"];
                };
            };
        };
    };
    ApiKeysController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                tenant_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    ApiKeysController_create: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                tenant_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateApiKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKeyView"];
                };
            };
        };
    };
    ApiKeysController_delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                tenant_id: string;
                key_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    CredentialsController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
                vendor?: "openai" | "anthropic" | "stripe" | "twilio" | "resend" | "openai_compatible";
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    CredentialsController_create: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateCredentialDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialView"];
                };
            };
        };
    };
    CredentialsController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialView"];
                };
            };
        };
    };
    CredentialsController_remove: {
        parameters: {
            query?: {
                /** @description Revoke the active vault keys that use this profile, in the same transaction. */
                revoke_vault_keys?: "true" | "false";
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeletedCredentialView"];
                };
            };
        };
    };
    CredentialsController_update: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateCredentialDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialView"];
                };
            };
        };
    };
    CredentialsController_addKey: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddCredentialKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialView"];
                };
            };
        };
    };
    CredentialsController_retireKey: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
                key_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CredentialView"];
                };
            };
        };
    };
    TenantKeysController_rotateDataKey: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DataKeyRotationView"];
                };
            };
        };
    };
    SigningKeysController_list: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    SigningKeysController_rotate: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The new active key */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SigningKeyView"];
                };
            };
        };
    };
    VaultKeysController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
                status?: "active" | "revoked" | "expired";
                label?: string;
                /** @description Credential profile name or id */
                credential?: string;
                /** @description metadata[key]=value; every pair given must match */
                metadata?: {
                    [key: string]: string;
                };
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    VaultKeysController_issue: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateVaultKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IssuedVaultKeyView"];
                };
            };
        };
    };
    VaultKeysController_revokeMatching: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RevokeVaultKeysDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevocationView"];
                };
            };
        };
    };
    VaultKeysController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VaultKeyView"];
                };
            };
        };
    };
    VaultKeysController_delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VaultKeyView"];
                };
            };
        };
    };
    VaultKeysController_revoke: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VaultKeyView"];
                };
            };
        };
    };
    AuditController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
                /** @description A vault key id (vk_...) */
                vault_key?: string;
                /** @description The X-Run-Id the call carried */
                run_id?: string;
                /** @description The X-Conversation-Id the call carried */
                conversation_id?: string;
                /** @description An HTTP status (429) or a class (2xx, 4xx, 5xx) */
                status?: string;
                /** @description Inclusive lower bound (ISO 8601) */
                from?: string;
                /** @description Exclusive upper bound (ISO 8601) */
                to?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A list of audit entries, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntryView"][];
                };
            };
        };
    };
    AuditController_export: {
        parameters: {
            query?: {
                /** @description A vault key id (vk_...) */
                vault_key?: string;
                /** @description The X-Run-Id the call carried */
                run_id?: string;
                /** @description The X-Conversation-Id the call carried */
                conversation_id?: string;
                /** @description An HTTP status (429) or a class (2xx, 4xx, 5xx) */
                status?: string;
                /** @description Inclusive lower bound (ISO 8601) */
                from?: string;
                /** @description Exclusive upper bound (ISO 8601) */
                to?: string;
                format?: "jsonl" | "csv";
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    AuditController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntryDetailView"];
                };
            };
        };
    };
    WebhooksController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    WebhooksController_create: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateWebhookDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedWebhookView"];
                };
            };
        };
    };
    WebhooksController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookView"];
                };
            };
        };
    };
    WebhooksController_delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    WebhooksController_deliveries: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    WebhooksController_delivery: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
                delivery_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDeliveryView"];
                };
            };
        };
    };
    WebhooksController_redeliver: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
                delivery_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Due again at once; 409 delivery_in_progress while an attempt is in flight */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDeliveryView"];
                };
            };
        };
    };
    UsageController_get: {
        parameters: {
            query?: {
                group_by?: "vault_key" | "credential" | "label" | "day" | "hour";
                /** @description Inclusive lower bound (ISO 8601). Default: 24 hours before `to` for hour, 30 days before for the rest */
                from?: string;
                /** @description Exclusive upper bound (ISO 8601). Default: now */
                to?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageView"];
                };
            };
        };
    };
    IntegrationsController_difyTool: {
        parameters: {
            query: {
                /** @description The vendor the tool calls through the proxy. */
                vendor: "openai" | "anthropic" | "stripe" | "twilio" | "resend";
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenAPI 3.0 schema of a Dify custom tool that calls the vendor through the proxy with a vault key. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
        };
    };
    GatewayKeysController_list: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The last id of the previous page */
                starting_after?: string;
            };
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    GatewayKeysController_create: {
        parameters: {
            query?: never;
            header?: {
                /** @description Same key and body: the first result again. Same key, other body: 409 idempotency_key_reused. */
                "Idempotency-Key"?: string;
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateGatewayKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedGatewayKeyView"];
                };
            };
        };
    };
    GatewayKeysController_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GatewayKeyView"];
                };
            };
        };
    };
    GatewayKeysController_revoke: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GatewayKeyView"];
                };
            };
        };
    };
    GatewayKeysController_revokeByPost: {
        parameters: {
            query?: never;
            header?: {
                /** @description Admin only: act inside this tenant (ten_...) */
                "Keyvault-Tenant"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GatewayKeyView"];
                };
            };
        };
    };
}
