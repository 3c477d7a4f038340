import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList, type Tenant } from '@keyvault/db';
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

  private async view(t: Tenant): Promise<TenantView> {
    const spend = await this.tenants.spend([t.id]);
    return TenantView.of(t, spend.get(t.id)!);
  }

  @Post()
  @Idempotent()
  @ApiCreatedResponse({ type: TenantView })
  async create(@Body() dto: CreateTenantDto): Promise<TenantView> {
    return this.view(await this.tenants.create(dto));
  }

  @Get()
  async list(@Query() q: ListQueryDto) {
    const { rows, has_more } = await this.tenants.list(q);
    const spend = await this.tenants.spend(rows.map((t) => t.id));
    return toList(rows.map((t) => TenantView.of(t, spend.get(t.id)!)), has_more);
  }

  @Get(':id')
  @ApiOkResponse({ type: TenantView })
  async get(@Param('id') id: string): Promise<TenantView> {
    return this.view(await this.tenants.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: TenantView })
  async update(@Param('id') id: string, @Body() dto: UpdateTenantDto): Promise<TenantView> {
    return this.view(await this.tenants.update(id, dto));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOkResponse({ type: TenantView })
  async disable(@Param('id') id: string): Promise<TenantView> {
    return this.view(await this.tenants.setStatus(id, 'disabled'));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: TenantView })
  async enable(@Param('id') id: string): Promise<TenantView> {
    return this.view(await this.tenants.setStatus(id, 'active'));
  }
}
