import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { RequireScope, TenantId } from '../auth/auth.decorators';
import { ListQueryDto } from '../common/list-query.dto';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CreateGatewayKeyDto } from './dto/create-gateway-key.dto';
import { CreatedGatewayKeyView, GatewayKeyView } from './gateway-key.view';
import { GatewayKeysService } from './gateway-keys.service';

/**
 * Gateway keys are credentials that reach provider keys (through a vault key), so managing them
 * takes the credentials scopes.
 */
@ApiTags('gateway keys')
@ApiBearerAuth()
@Controller('gateway-keys')
export class GatewayKeysController {
  constructor(private readonly gatewayKeys: GatewayKeysService) {}

  @Post()
  @Idempotent()
  @RequireScope('credentials:write')
  @ApiCreatedResponse({ type: CreatedGatewayKeyView })
  async create(@TenantId() tenantId: string, @Body() dto: CreateGatewayKeyDto): Promise<CreatedGatewayKeyView> {
    const { key, token } = await this.gatewayKeys.create(tenantId, dto);
    const { id, object, ...rest } = GatewayKeyView.of(key);
    return { id, object, gateway_key: token, ...rest };
  }

  @Get()
  @RequireScope('credentials:read')
  async list(@TenantId() tenantId: string, @Query() q: ListQueryDto) {
    const { rows, has_more } = await this.gatewayKeys.list(tenantId, q);
    return toList(rows.map(GatewayKeyView.of), has_more);
  }

  @Get(':id')
  @RequireScope('credentials:read')
  @ApiOkResponse({ type: GatewayKeyView })
  async get(@TenantId() tenantId: string, @Param('id') id: string): Promise<GatewayKeyView> {
    return GatewayKeyView.of(await this.gatewayKeys.get(tenantId, id));
  }

  /** Revokes (the row stays, for the audit trail); the next proxied call with it is refused. */
  @Delete(':id')
  @RequireScope('credentials:write')
  @ApiOkResponse({ type: GatewayKeyView })
  async revoke(@TenantId() tenantId: string, @Param('id') id: string): Promise<GatewayKeyView> {
    return GatewayKeyView.of(await this.gatewayKeys.revoke(tenantId, id));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequireScope('credentials:write')
  @ApiOkResponse({ type: GatewayKeyView })
  async revokeByPost(@TenantId() tenantId: string, @Param('id') id: string): Promise<GatewayKeyView> {
    return GatewayKeyView.of(await this.gatewayKeys.revoke(tenantId, id));
  }
}
