import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { API_KEY_SCOPES, type TenantApiKey } from '@keyvault/db';
import { iso } from '../common/iso';

export class ApiKeyView {
  @ApiProperty({ example: 'tak_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['api_key'] }) object: 'api_key';
  @ApiProperty() tenant: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: string[];
  @ApiProperty() created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) last_used_at: string | null;

  static of(k: TenantApiKey): ApiKeyView {
    return {
      id: k.id,
      object: 'api_key',
      tenant: k.tenantId,
      name: k.name,
      scopes: k.scopes,
      created_at: k.createdAt.toISOString(),
      last_used_at: iso(k.lastUsedAt),
    };
  }
}

export class CreatedApiKeyView extends ApiKeyView {
  @ApiProperty({ description: 'The key itself (kv_live_...). Shown only in this response.' })
  api_key: string;
}
