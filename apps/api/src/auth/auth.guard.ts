import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import { safeEqual } from '@keyvault/crypto';
import { FailedAuthLimiter, TrustedProxies } from '@keyvault/net';
import type { ApiKeyScope } from '@keyvault/db';
import { KeyvaultError, notFound } from '@keyvault/errors';
import { API_CONFIG } from '../config.providers';
import { PUBLIC_ROUTE } from '@keyvault/observability';
import { ADMIN_ONLY, API_KEY_CONFIRMED_BY_HANDLER, REQUIRED_SCOPE } from './auth.decorators';
import { API_KEY_PREFIX } from './api-key-token';
import { ApiKeyVerifier } from './api-key-verifier.service';
import type { AuthenticatedRequest } from './principal';

/** Authenticates every api request: the admin token or a tenant API key, then role and scope. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeyVerifier,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly failedAuth: FailedAuthLimiter,
    private readonly trustedProxies: TrustedProxies,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest & { url?: string; query?: Record<string, unknown>; socket?: { remoteAddress?: string } }>();

    if ((req.query && ['api_key', 'key', 'token', 'access_token'].some((k) => k in req.query!)) || urlCarriesApiKey(req.url)) {
      throw new KeyvaultError('token_in_query', 'Credentials are accepted only in the Authorization header, never in the URL.');
    }

    const token = bearerToken(req.headers.authorization);
    if (!token) {
      throw new KeyvaultError('invalid_api_key', 'No API key provided: send `Authorization: Bearer <key>`.');
    }
    const tenantHeader = header(req.headers['keyvault-tenant']);

    if (safeEqual(token, this.config.KEYVAULT_ADMIN_TOKEN)) {
      if (tenantHeader) await this.assertTenantExists(tenantHeader);
      req.principal = { kind: 'admin', tenantId: tenantHeader ?? null };
      return true;
    }

    // a replayed Idempotency-Key answers before any handler runs, so it gets the row read here
    const confirmedByHandler =
      this.reflector.getAllAndOverride<boolean>(API_KEY_CONFIRMED_BY_HANDLER, targets) && !req.headers['idempotency-key'];
    const key = confirmedByHandler
      ? await this.apiKeys.verifyRemembered(token)
      : await this.apiKeys.verify(token);
    if (!key) {
      // Only a key that failed verification is counted, and past the limit refused: a key that
      // verifies is never refused, whatever else its address sent.
      const address = this.trustedProxies.clientAddress(req.socket?.remoteAddress, req.headers['x-forwarded-for']);
      const wait = await this.failedAuth.failed(address);
      if (wait > 0) {
        throw new KeyvaultError('too_many_failed_authentications', 'Too many failed authentications from this address.').withHeaders({
          'Retry-After': String(wait),
        });
      }
      throw new KeyvaultError('invalid_api_key', 'Invalid API key provided.');
    }
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets)) {
      throw new KeyvaultError('admin_only', 'This route needs the platform admin token.');
    }
    const scope = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, targets);
    if (scope && !key.scopes.includes(scope)) {
      throw new KeyvaultError('insufficient_scope', `This API key lacks the scope '${scope}'.`);
    }
    req.principal = { kind: 'api_key', tenantId: key.tenantId, apiKeyId: key.apiKeyId, scopes: key.scopes };
    return true;
  }

  private async assertTenantExists(id: string): Promise<void> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM tenants WHERE id = $1', [id]);
    if (rows.length === 0) throw notFound('tenant', id, 'Keyvault-Tenant');
  }
}

/** A tenant API key anywhere in the URL, under any parameter name, raw or percent-encoded. */
function urlCarriesApiKey(url: string | undefined): boolean {
  const u = (url ?? '').toLowerCase();
  return u.includes(API_KEY_PREFIX) || u.includes('kv%5flive%5f');
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function bearerToken(v: string | string[] | undefined): string | null {
  const h = header(v);
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}
