import { Global, Module } from '@nestjs/common';
import { FailedAuthLimiter } from '@keyvault/net';
import { APP_GUARD } from '@nestjs/core';
import type { ApiConfig } from '@keyvault/config';
import { API_CONFIG } from '../config.providers';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { AuthGuard } from './auth.guard';

@Global()
@Module({
  providers: [
    ApiKeyVerifier,
    { provide: FailedAuthLimiter, useFactory: (config: ApiConfig) => new FailedAuthLimiter({ points: config.KEYVAULT_FAILED_AUTH_LIMIT }), inject: [API_CONFIG] },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [ApiKeyVerifier],
})
export class AuthModule {}
