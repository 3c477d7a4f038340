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
            /** @description OpenAPI 3.1 schema of a Dify custom tool that calls the vendor through the proxy with a vault key. */
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
}
