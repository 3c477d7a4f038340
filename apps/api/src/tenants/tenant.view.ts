import { ApiProperty } from '@nestjs/swagger';
import type { Tenant } from '@keyvault/db';
import { formatDuration } from '@keyvault/policy';

export class TenantView {
  @ApiProperty({ example: 'ten_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['tenant'] }) object: 'tenant';
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: ['active', 'disabled'] }) status: string;
  @ApiProperty({ example: '30d' }) max_vault_key_ttl: string;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;

  static of(t: Tenant): TenantView {
    return {
      id: t.id,
      object: 'tenant',
      name: t.name,
      slug: t.slug,
      status: t.status,
      max_vault_key_ttl: formatDuration(t.maxVaultKeyTtlSeconds),
      created_at: t.createdAt.toISOString(),
      updated_at: t.updatedAt.toISOString(),
    };
  }
}
