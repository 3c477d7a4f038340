import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { ListQueryDto } from '../../common/list-query.dto';
import { IsMetadata } from './metadata.validator';

export const VAULT_KEY_STATUSES = ['active', 'revoked', 'expired'] as const;
export type VaultKeyStatus = (typeof VAULT_KEY_STATUSES)[number];

export class ListVaultKeysQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: VAULT_KEY_STATUSES })
  @IsOptional()
  @IsIn(VAULT_KEY_STATUSES, { message: `status must be one of ${VAULT_KEY_STATUSES.join(', ')}` })
  status?: VaultKeyStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({ description: 'Credential profile name or id' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  credential?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'metadata[key]=value; every pair given must match',
  })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;
}
