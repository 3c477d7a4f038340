import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import type { ProxyConfig } from '@keyvault/config';
import { MasterKeyring } from '@keyvault/crypto';
import { dataSourceOptions } from '@keyvault/db';
import { FailedAuthLimiter, TrustedProxies } from '@keyvault/net';
import { HealthModule, loggerParams, MetricsModule, OPS_ROUTES } from '@keyvault/observability';
import { PriceBook } from '@keyvault/policy';
import { AuditWriter } from './audit/audit-writer';
import { CaptureWriter } from './audit/capture-writer';
import { CallRecorder } from './audit/call-recorder';
import { GatewayAuth } from './auth/gateway-auth';
import { SigningKeys } from './auth/signing-keys';
import { VaultKeyAuth } from './auth/vault-key-auth';
import { CredentialsService } from './credentials/credentials.service';
import { ForwardHandler } from './forward/forward.handler';
import { GuardrailChecks } from './guardrails/guardrails';
import { BudgetLedger } from './ledger/budget-ledger';
import { Budgets } from './ledger/budgets';
import { SpendLedger } from './ledger/spend-ledger';
import { PROXY_CONFIG } from './proxy.config';
import { ProxyMetrics } from './proxy-metrics';
import { ProxyStore } from './store/proxy-store';
import { UpstreamClient } from './upstream/upstream-client';
import { VendorAdapters } from './vendors/vendor-adapters';

export { PROXY_CONFIG };

/**
 * The proxy's object graph. Nest builds it once; proxied calls never go through Nest's request
 * pipeline (see proxy.factory.ts): only /healthz, /readyz and /metrics do.
 */
@Module({})
export class ProxyModule {
  static forRoot(config: ProxyConfig): DynamicModule {
    const db = dataSourceOptions({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'keyvault-proxy', role: config.KEYVAULT_PROXY_DB_ROLE });
    return {
      module: ProxyModule,
      global: true,
      imports: [
        // No request-logging middleware, even on the ops routes (which it would not log anyway):
        // its first AsyncLocalStorage.run() turns on async hooks for the whole process, and every
        // proxied call would pay for them from the first health check on.
        LoggerModule.forRoot({ ...loggerParams(config.LOG_LEVEL, 'keyvault-proxy', config.LOG_FILE), exclude: OPS_ROUTES }),
        // Fail closed, and fast: a vault that cannot reach its database answers 503 within a
        // second or two rather than letting callers hang.
        TypeOrmModule.forRoot({ ...db, extra: { ...(db.extra as object), connectionTimeoutMillis: 1_000, query_timeout: 5_000 }, retryAttempts: 0 }),
        MetricsModule,
        HealthModule,
      ],
      providers: [
        { provide: PROXY_CONFIG, useValue: config },
        { provide: MasterKeyring, useValue: new MasterKeyring(config.KEYVAULT_MASTER_KEY, config.KEYVAULT_PREVIOUS_MASTER_KEYS) },
        { provide: PriceBook, useValue: PriceBook.load(config.KEYVAULT_PRICES_FILE) },
        ProxyMetrics,
        { provide: FailedAuthLimiter, useValue: new FailedAuthLimiter({ points: config.KEYVAULT_FAILED_AUTH_LIMIT }) },
        { provide: TrustedProxies, useValue: new TrustedProxies(config.KEYVAULT_TRUSTED_PROXIES) },
        ProxyStore,
        SigningKeys,
        GatewayAuth,
        VaultKeyAuth,
        CredentialsService,
        VendorAdapters,
        SpendLedger, BudgetLedger, Budgets,
        AuditWriter, CallRecorder,
        CaptureWriter,
        UpstreamClient,
        GuardrailChecks,
        ForwardHandler,
      ],
      exports: [PROXY_CONFIG, MasterKeyring],
    };
  }
}
