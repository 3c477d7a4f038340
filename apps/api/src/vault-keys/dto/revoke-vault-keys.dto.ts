import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { IsMetadata } from './metadata.validator';

/** Which active vault keys to revoke: every filter given must match (at least one is needed). */
export class RevokeVaultKeysDto {
  @ApiPropertyOptional({ example: 'dify-chat-42-s1' })
  @Omittable()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({ description: 'Credential profile name or id' })
  @Omittable()
  @IsString()
  @Length(1, 200)
  credential?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { user_id: 'u_42' } })
  @Omittable()
  @IsMetadata()
  metadata?: Record<string, string>;
}
