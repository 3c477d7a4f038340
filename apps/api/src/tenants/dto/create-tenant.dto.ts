import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length, Matches, Validate } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { IsDuration } from '../../common/is-duration.validator';
import { NullableUsdCap } from '../../vault-keys/dto/usd-amount.validator';

export class CreateTenantDto {
  @ApiProperty({ example: 'Client A' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ example: 'client-a', description: 'Lowercase letters, digits and dashes; derived from name when absent.' })
  // absent is allowed, null is not: an update would store it
  @Omittable()
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { message: 'slug must be lowercase letters, digits and dashes' })
  slug?: string;

  @ApiPropertyOptional({ example: '30d', default: '30d', description: 'Longest expires_in a vault key of this tenant may have.' })
  @Omittable()
  @Validate(IsDuration)
  max_vault_key_ttl?: string;

  // budgets above the keys (issue 19)
  @NullableUsdCap({ example: 5000, description: "USD the tenant's vault keys may spend together per calendar month (UTC), across every proxy instance; a call that would pass it is refused (429 tenant_cap_exceeded, Retry-After: seconds to the month's end). null (or absent): none; PATCH with null removes it" })
  monthly_usd_cap?: number | null;
}
