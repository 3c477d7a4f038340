import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { KeyvaultError } from '@keyvault/errors';
import type { ApiKeyScope } from '@keyvault/db';
import type { AuthenticatedRequest, Principal } from './principal';

export const ADMIN_ONLY = 'keyvault:admin-only';
export const REQUIRED_SCOPE = 'keyvault:scope';
export const API_KEY_CONFIRMED_BY_HANDLER = 'keyvault:api-key-confirmed-by-handler';

export { Public, PUBLIC_ROUTE } from '@keyvault/observability';
/** Platform admin only. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);
/** A tenant API key needs this scope; the admin has every scope. */
export const RequireScope = (scope: ApiKeyScope) => SetMetadata(REQUIRED_SCOPE, scope);
/**
 * For hot routes: the guard accepts a tenant API key it verified before without reading its row,
 * because the handler's own statement checks that the row still exists (and refuses with
 * invalid_api_key when it does not). Saves a round trip per request. A deleted key still fails
 * on its next use; only a body that is also invalid is refused for that (400) first. Requests
 * with an Idempotency-Key keep the row read (a replay answers before the handler).
 */
export const ApiKeyConfirmedByHandler = () => SetMetadata(API_KEY_CONFIRMED_BY_HANDLER, true);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal!,
);

/**
 * The tenant a tenant-scoped route acts in: the API key's own tenant, or the one the admin
 * names in Keyvault-Tenant (checked to exist by the guard).
 */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal?.tenantId) {
    throw new KeyvaultError('tenant_required', 'This route acts inside a tenant: send the Keyvault-Tenant header.', 'Keyvault-Tenant');
  }
  return principal.tenantId;
});
