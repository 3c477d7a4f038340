import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { toList } from '@keyvault/db';
import { RequireScope, TenantId } from '../auth/auth.decorators';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CredentialView, DeletedCredentialView } from './credential.view';
import { CredentialsService } from './credentials.service';
import { AddCredentialKeyDto } from './dto/add-credential-key.dto';
import { CreateCredentialDto } from './dto/create-credential.dto';
import { DeleteCredentialQueryDto, ListCredentialsQueryDto } from './dto/credential-queries.dto';
import { UpdateCredentialDto } from './dto/update-credential.dto';

/** `:id` accepts a profile's id (cred_...) or its name everywhere. */
@ApiTags('credentials')
@ApiBearerAuth()
@Controller('credentials')
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  @Post()
  @Idempotent()
  @RequireScope('credentials:write')
  @ApiCreatedResponse({ type: CredentialView })
  async create(@TenantId() tenantId: string, @Body() dto: CreateCredentialDto): Promise<CredentialView> {
    return CredentialView.of(await this.credentials.create(tenantId, dto));
  }

  @Get()
  @RequireScope('credentials:read')
  async list(@TenantId() tenantId: string, @Query() q: ListCredentialsQueryDto) {
    const { rows, has_more } = await this.credentials.list(tenantId, q);
    return toList(rows.map(CredentialView.of), has_more);
  }

  @Get(':id')
  @RequireScope('credentials:read')
  @ApiOkResponse({ type: CredentialView })
  async get(@TenantId() tenantId: string, @Param('id') id: string): Promise<CredentialView> {
    return CredentialView.of(await this.credentials.get(tenantId, id));
  }

  @Patch(':id')
  @RequireScope('credentials:write')
  @ApiOkResponse({ type: CredentialView })
  async update(@TenantId() tenantId: string, @Param('id') id: string, @Body() dto: UpdateCredentialDto): Promise<CredentialView> {
    return CredentialView.of(await this.credentials.update(tenantId, id, dto));
  }

  @Post(':id/keys')
  @Idempotent()
  @RequireScope('credentials:write')
  @ApiCreatedResponse({ type: CredentialView })
  async addKey(@TenantId() tenantId: string, @Param('id') id: string, @Body() dto: AddCredentialKeyDto): Promise<CredentialView> {
    return CredentialView.of(await this.credentials.addKey(tenantId, id, dto.key, dto.group ?? null));
  }

  @Delete(':id/keys/:key_id')
  @RequireScope('credentials:write')
  @ApiOkResponse({ type: CredentialView })
  async retireKey(@TenantId() tenantId: string, @Param('id') id: string, @Param('key_id') keyId: string): Promise<CredentialView> {
    return CredentialView.of(await this.credentials.retireKey(tenantId, id, keyId));
  }

  @Delete(':id')
  @RequireScope('credentials:write')
  @ApiOkResponse({ type: DeletedCredentialView })
  async remove(@TenantId() tenantId: string, @Param('id') id: string, @Query() q: DeleteCredentialQueryDto): Promise<DeletedCredentialView> {
    const { id: deleted, revoked } = await this.credentials.remove(tenantId, id, q.revoke_vault_keys === 'true');
    return { id: deleted, object: 'credential', deleted: true, revoked_vault_keys: revoked };
  }
}
