import { ApiProperty } from '@nestjs/swagger';
import type { Secret } from '@keyvault/crypto';
import { IsProviderKey, PROVIDER_KEY_MAX, PROVIDER_KEY_MIN, ToSecret } from './provider-key';

export class AddCredentialKeyDto {
  @ApiProperty({
    type: String,
    writeOnly: true,
    description: `One more real provider key (${PROVIDER_KEY_MIN} to ${PROVIDER_KEY_MAX} characters, no whitespace). Add the new key, then retire the old one: rotation without downtime.`,
  })
  @ToSecret()
  @IsProviderKey()
  key: Secret;
}
