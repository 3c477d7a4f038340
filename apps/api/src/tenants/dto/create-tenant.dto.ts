import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length, Matches, Validate, ValidateIf } from 'class-validator';
import { IsDuration } from '../../common/is-duration.validator';

export class CreateTenantDto {
  @ApiProperty({ example: 'Client A' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ example: 'client-a', description: 'Lowercase letters, digits and dashes; derived from name when absent.' })
  // absent is allowed, null is not: an update would store it
  @ValidateIf((_: unknown, v: unknown) => v !== undefined)
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { message: 'slug must be lowercase letters, digits and dashes' })
  slug?: string;

  @ApiPropertyOptional({ example: '30d', default: '30d', description: 'Longest expires_in a vault key of this tenant may have.' })
  @ValidateIf((_: unknown, v: unknown) => v !== undefined)
  @Validate(IsDuration)
  max_vault_key_ttl?: string;
}
