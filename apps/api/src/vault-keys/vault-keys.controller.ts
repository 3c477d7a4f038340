import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { ApiKeyConfirmedByHandler, CurrentPrincipal, RequireScope, TenantId } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CreateVaultKeyDto } from './dto/create-vault-key.dto';
import { ListVaultKeysQueryDto } from './dto/list-vault-keys-query.dto';
import { RevokeVaultKeysDto } from './dto/revoke-vault-keys.dto';
import { IssuedVaultKeyView, RevocationView, VaultKeyView } from './vault-key.view';
import { ReservedMetadataKeysInterceptor } from './reserved-metadata-keys.interceptor';
import { VaultKeysService } from './vault-keys.service';

@ApiTags('vault keys')
@ApiBearerAuth()
@Controller('vault/keys')
export class VaultKeysController {
  constructor(private readonly vaultKeys: VaultKeysService) {}

  @Post()
  @Idempotent()
  @RequireScope('vault_keys:issue')
  @ApiKeyConfirmedByHandler()
  @UseInterceptors(ReservedMetadataKeysInterceptor)
  @ApiCreatedResponse({ type: IssuedVaultKeyView })
  async issue(
    @TenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateVaultKeyDto,
  ): Promise<IssuedVaultKeyView> {
    const apiKeyId = principal.kind === 'api_key' ? principal.apiKeyId : null;
    const { key, token } = await this.vaultKeys.issue(tenantId, dto, apiKeyId);
    return IssuedVaultKeyView.issued(key, token);
  }

  @Get()
  @RequireScope('vault_keys:read')
  async list(@TenantId() tenantId: string, @Query() q: ListVaultKeysQueryDto) {
    const { rows, has_more } = await this.vaultKeys.list(tenantId, q);
    return toList(rows.map(VaultKeyView.of), has_more);
  }

  @Post('revoke')
  @HttpCode(200)
  @RequireScope('vault_keys:revoke')
  @UseInterceptors(ReservedMetadataKeysInterceptor)
  @ApiOkResponse({ type: RevocationView })
  async revokeMatching(@TenantId() tenantId: string, @Body() dto: RevokeVaultKeysDto): Promise<RevocationView> {
    return { object: 'revocation', revoked: await this.vaultKeys.revokeMatching(tenantId, dto) };
  }

  @Get(':id')
  @RequireScope('vault_keys:read')
  @ApiOkResponse({ type: VaultKeyView })
  async get(@TenantId() tenantId: string, @Param('id') id: string): Promise<VaultKeyView> {
    return VaultKeyView.of(await this.vaultKeys.get(tenantId, id));
  }

  @Delete(':id')
  @RequireScope('vault_keys:revoke')
  @ApiOkResponse({ type: VaultKeyView })
  async delete(@TenantId() tenantId: string, @Param('id') id: string): Promise<VaultKeyView> {
    return VaultKeyView.of(await this.vaultKeys.revoke(tenantId, id));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequireScope('vault_keys:revoke')
  @ApiOkResponse({ type: VaultKeyView })
  async revoke(@TenantId() tenantId: string, @Param('id') id: string): Promise<VaultKeyView> {
    return VaultKeyView.of(await this.vaultKeys.revoke(tenantId, id));
  }
}
