import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { KeyvaultError } from '@keyvault/errors';

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Nest's ValidationPipe deletes `__proto__`, `constructor` and `prototype` keys from a body (its
 * prototype-pollution guard) before any DTO sees it, so such a metadata key would vanish in
 * silence, and a bulk revocation filtered on one would revoke more than asked. Interceptors run
 * before pipes: this one sees the body as sent and refuses those keys.
 */
@Injectable()
export class ReservedMetadataKeysInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata: unknown = ctx.switchToHttp().getRequest<FastifyRequest<{ Body: { metadata?: unknown } | undefined }>>().body?.metadata;
    if (typeof metadata === 'object' && metadata !== null) {
      const reserved = Object.keys(metadata).find((k) => RESERVED.has(k));
      if (reserved) throw new KeyvaultError('parameter_invalid', `metadata key "${reserved}" is reserved`, 'metadata');
    }
    return next.handle();
  }
}
