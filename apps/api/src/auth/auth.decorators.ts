import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { KeyvaultError } from '@keyvault/errors';
import type { ApiKeyScope } from '@keyvault/db';
import type { AuthenticatedRequest, Principal } from './principal';

export const ADMIN_ONLY = 'keyvault:admin-only';
export const REQUIRED_SCOPE = 'keyvault:scope';

export { Public, PUBLIC_ROUTE } from '@keyvault/observability';
/** Platform admin only. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);
/** A tenant API key needs this scope; the admin has every scope. */
export const RequireScope = (scope: ApiKeyScope) => SetMetadata(REQUIRED_SCOPE, scope);

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
