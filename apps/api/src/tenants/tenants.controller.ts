import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { AdminOnly } from '../auth/auth.decorators';
import { ListQueryDto } from '../common/list-query.dto';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { TenantView } from './tenant.view';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiBearerAuth()
@AdminOnly()
@Controller('tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @Idempotent()
  @ApiCreatedResponse({ type: TenantView })
  async create(@Body() dto: CreateTenantDto): Promise<TenantView> {
    return TenantView.of(await this.tenants.create(dto));
  }

  @Get()
  async list(@Query() q: ListQueryDto) {
    const { rows, has_more } = await this.tenants.list(q);
    return toList(rows.map(TenantView.of), has_more);
  }

  @Get(':id')
  @ApiOkResponse({ type: TenantView })
  async get(@Param('id') id: string): Promise<TenantView> {
    return TenantView.of(await this.tenants.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: TenantView })
  async update(@Param('id') id: string, @Body() dto: UpdateTenantDto): Promise<TenantView> {
    return TenantView.of(await this.tenants.update(id, dto));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOkResponse({ type: TenantView })
  async disable(@Param('id') id: string): Promise<TenantView> {
    return TenantView.of(await this.tenants.setStatus(id, 'disabled'));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: TenantView })
  async enable(@Param('id') id: string): Promise<TenantView> {
    return TenantView.of(await this.tenants.setStatus(id, 'active'));
  }
}
