import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { ApiConfig } from '@keyvault/config';
import { DatabaseModule } from '@keyvault/db';
import { HealthModule, HttpMetricsInterceptor, loggerParams, MetricsModule, OPS_ROUTES } from '@keyvault/observability';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { configProviders } from './config.providers';
import { CredentialsModule } from './credentials/credentials.module';
import { ConsoleModule } from './console/console.module';
import { GatewayKeysModule } from './gateway-keys/gateway-keys.module';
import { MeController } from './me/me.controller';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { TenantKeysModule } from './tenant-keys/tenant-keys.module';
import { IntegrationsModule } from './integrations/integrations.module';
import { TenantsModule } from './tenants/tenants.module';
import { SigningKeysModule } from './signing-keys/signing-keys.module';
import { VaultKeysModule } from './vault-keys/vault-keys.module';
import { UsageModule } from './usage/usage.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        LoggerModule.forRoot({ ...loggerParams(config.LOG_LEVEL, 'keyvault-api', config.LOG_FILE), exclude: OPS_ROUTES }),
        DatabaseModule.forRoot({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'keyvault-api', role: config.KEYVAULT_API_DB_ROLE }),
        MetricsModule,
        HealthModule,
        AuthModule,
        TenantsModule,
        ApiKeysModule,
        CredentialsModule,
        TenantKeysModule,
        SigningKeysModule,
        VaultKeysModule,
        AuditModule,
        WebhooksModule,
        UsageModule,
        ConsoleModule,
        IntegrationsModule,
        GatewayKeysModule,
      ],
      controllers: [MeController],
      providers: [
        ...configProviders(config),
        { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
      exports: configProviders(config).map((p) => (p as { provide: unknown }).provide as symbol),
    };
  }
}
