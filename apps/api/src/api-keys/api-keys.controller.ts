import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { AdminOnly } from '../auth/auth.decorators';
import { ListQueryDto } from '../common/list-query.dto';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ApiKeyView, CreatedApiKeyView } from './api-key.view';
import { ApiKeysService } from './api-keys.service';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

@ApiTags('api keys')
@ApiBearerAuth()
@AdminOnly()
@Controller('tenants/:tenant_id/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @Idempotent()
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  async create(@Param('tenant_id') tenantId: string, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyView> {
    const { key, token } = await this.apiKeys.create(tenantId, dto);
    return { ...ApiKeyView.of(key), api_key: token };
  }

  @Get()
  async list(@Param('tenant_id') tenantId: string, @Query() q: ListQueryDto) {
    const { rows, has_more } = await this.apiKeys.list(tenantId, q);
    return toList(rows.map(ApiKeyView.of), has_more);
  }

  @Delete(':key_id')
  async delete(@Param('tenant_id') tenantId: string, @Param('key_id') keyId: string) {
    await this.apiKeys.delete(tenantId, keyId);
    return { id: keyId, object: 'api_key', deleted: true };
  }
}
