import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { hashSecret, newId } from '@keyvault/crypto';
import { API_KEY_SCOPES, pageByCursor, TenantApiKey, withTenant } from '@keyvault/db';
import { notFound } from '@keyvault/errors';
import { mintApiKeyToken } from '../auth/api-key-token';
import { TenantsService } from '../tenants/tenants.service';
import type { CreateApiKeyDto } from './dto/create-api-key.dto';

@Injectable()
export class ApiKeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
  ) {}

  /** Returns the row and the token; the token is shown once and stored only as a hash. */
  async create(tenantId: string, dto: CreateApiKeyDto): Promise<{ key: TenantApiKey; token: string }> {
    await this.tenants.get(tenantId);
    const id = newId('tenantApiKey');
    const token = mintApiKeyToken(id);
    const secretHash = await hashSecret(token);
    const key = await withTenant(this.db, tenantId, (m) => m.getRepository(TenantApiKey).save({
      id,
      tenantId,
      name: dto.name,
      scopes: dto.scopes ?? [...API_KEY_SCOPES],
      secretHash,
      lastUsedAt: null,
    }));
    return { key, token };
  }

  async list(tenantId: string, page: { limit: number; starting_after?: string }) {
    await this.tenants.get(tenantId);
    return withTenant(this.db, tenantId, (m) => {
      const qb = m.getRepository(TenantApiKey).createQueryBuilder('k').where('k.tenant_id = :tenantId', { tenantId });
      return pageByCursor(qb, 'k', page);
    });
  }

  /** Deleting the row is enough: the verifier reads it on every request. */
  async delete(tenantId: string, id: string): Promise<void> {
    const result = await withTenant(this.db, tenantId, (m) => m.getRepository(TenantApiKey).delete({ tenantId, id }));
    if (!result.affected) throw notFound('api key', id, 'key_id');
  }
}
