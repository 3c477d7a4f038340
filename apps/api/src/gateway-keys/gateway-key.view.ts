import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { GatewayKey } from '@keyvault/db';
import { iso } from '../common/iso';

export class GatewayKeyView {
  @ApiProperty({ example: 'gwk_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['gateway_key'] }) object: 'gateway_key';
  @ApiProperty() name: string;
  @ApiProperty({
    enum: ['gateway'],
    description: 'Accepted by the proxy only, and only together with the id of one of the tenant\'s vault keys (X-Vault-Key-Id, the OpenAI body\'s user, or a first system-prompt line)',
  })
  scope: 'gateway';
  @ApiProperty({ example: 'x9k2', description: 'The last 4 characters of the key, to tell keys apart' }) last4: string;
  @ApiProperty({ enum: ['active', 'revoked'] }) status: 'active' | 'revoked';
  @ApiProperty() created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) revoked_at: string | null;

  static of(k: GatewayKey): GatewayKeyView {
    return {
      id: k.id,
      object: 'gateway_key',
      name: k.name,
      scope: 'gateway',
      last4: k.last4,
      status: k.revokedAt ? 'revoked' : 'active',
      created_at: k.createdAt.toISOString(),
      revoked_at: iso(k.revokedAt),
    };
  }
}

export class CreatedGatewayKeyView extends GatewayKeyView {
  @ApiProperty({ example: 'kv_gw_...', description: 'The key itself. Shown only in this response.' })
  gateway_key: string;
}
