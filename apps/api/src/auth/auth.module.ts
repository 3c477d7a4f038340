import { Global, Module } from '@nestjs/common';
import { FailedAuthLimiter, TrustedProxies } from '@keyvault/net';
import { APP_GUARD } from '@nestjs/core';
import type { ApiConfig } from '@keyvault/config';
import { API_CONFIG } from '../config.providers';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { AuthGuard } from './auth.guard';

@Global()
@Module({
  providers: [
    ApiKeyVerifier,
    {
      provide: FailedAuthLimiter,
      // Each cluster worker counts only the failures it sees; its share of the limit keeps the
      // whole api at or under KEYVAULT_FAILED_AUTH_LIMIT, never above it.
      useFactory: (config: ApiConfig) =>
        new FailedAuthLimiter({ points: Math.max(1, Math.floor(config.KEYVAULT_FAILED_AUTH_LIMIT / config.API_WORKERS)) }),
      inject: [API_CONFIG],
    },
    { provide: TrustedProxies, useFactory: (config: ApiConfig) => new TrustedProxies(config.KEYVAULT_TRUSTED_PROXIES), inject: [API_CONFIG] },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [ApiKeyVerifier],
})
export class AuthModule {}
