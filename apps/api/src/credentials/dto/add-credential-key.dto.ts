import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { Omittable } from '../../common/omittable';
import type { Secret } from '@keyvault/crypto';
import { KEY_GROUP, KEY_GROUP_MESSAGE } from './key-group';
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

  @ApiPropertyOptional({
    example: 'team-a',
    description: 'Only vault keys naming this key_group use this key (one user\'s or one team\'s own key). Absent: a shared key.',
  })
  @Omittable()
  @IsString()
  @Matches(KEY_GROUP, { message: KEY_GROUP_MESSAGE })
  group?: string;
}
