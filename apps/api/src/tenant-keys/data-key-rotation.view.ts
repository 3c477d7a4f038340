import { ApiProperty } from '@nestjs/swagger';
import type { DataKeyRotation } from './tenant-keys.service';

export class DataKeyRotationView {
  @ApiProperty({ enum: ['data_key_rotation'] }) object: 'data_key_rotation';
  @ApiProperty({ example: 'ten_01jd8x0000000000000000000' }) tenant: string;
  @ApiProperty({ example: 2, description: "The tenant's data key version now in use" }) data_key_version: number;
  @ApiProperty({ description: 'Provider keys re-encrypted under the new data key' }) credential_keys: number;
  @ApiProperty({ description: 'Webhook secrets re-encrypted under the new data key' }) webhook_secrets: number;

  static of(r: DataKeyRotation): DataKeyRotationView {
    return {
      object: 'data_key_rotation',
      tenant: r.tenantId,
      data_key_version: r.version,
      credential_keys: r.credentialKeys,
      webhook_secrets: r.webhookSecrets,
    };
  }
}
