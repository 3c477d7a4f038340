import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { IsMetadata } from './metadata.validator';

/** Which active vault keys to revoke: every filter given must match (at least one is needed). */
export class RevokeVaultKeysDto {
  @ApiPropertyOptional({ example: 'dify-chat-42-s1' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({ description: 'Credential profile name or id' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  credential?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { user_id: 'u_42' } })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}
