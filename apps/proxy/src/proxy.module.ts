import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { ProxyConfig } from '@keyvault/config';
import { MasterKeyring } from '@keyvault/crypto';
import { DatabaseModule } from '@keyvault/db';
import { HealthModule, loggerParams, MetricsModule } from '@keyvault/observability';

export const PROXY_CONFIG = Symbol('PROXY_CONFIG');

@Module({})
export class ProxyModule {
  static forRoot(config: ProxyConfig): DynamicModule {
    return {
      module: ProxyModule,
      global: true,
      imports: [
        LoggerModule.forRoot(loggerParams(config.LOG_LEVEL, 'keyvault-proxy')),
        DatabaseModule.forRoot({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: 'keyvault-proxy' }),
        MetricsModule,
        HealthModule,
      ],
      providers: [
        { provide: PROXY_CONFIG, useValue: config },
        { provide: MasterKeyring, useValue: new MasterKeyring(config.KEYVAULT_MASTER_KEY, config.KEYVAULT_PREVIOUS_MASTER_KEYS) },
      ],
      exports: [PROXY_CONFIG, MasterKeyring],
    };
  }
}
