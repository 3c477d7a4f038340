import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyVerifier } from './api-key-verifier.service';
import { AuthGuard } from './auth.guard';

@Global()
@Module({
  providers: [ApiKeyVerifier, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [ApiKeyVerifier],
})
export class AuthModule {}
