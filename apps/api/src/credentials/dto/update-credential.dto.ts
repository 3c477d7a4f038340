import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { NullableUsdCap } from '../../vault-keys/dto/usd-amount.validator';
import type { CredentialStrategy } from '@keyvault/db';
import { CREDENTIAL_NAME, CREDENTIAL_NAME_MESSAGE, PROFILE_DAILY_CAP_DOC, PROFILE_MONTHLY_CAP_DOC, STRATEGIES } from './create-credential.dto';

/** Every field is optional; `null` is refused except for base_url (it clears the override) and the caps (it removes them). */
export class UpdateCredentialDto {
  @ApiPropertyOptional({ example: 'client_a_openai' })
  @Omittable()
  @IsString()
  @Length(1, 100)
  @Matches(CREDENTIAL_NAME, { message: CREDENTIAL_NAME_MESSAGE })
  name?: string;

  @ApiPropertyOptional({ enum: STRATEGIES })
  @Omittable()
  @IsIn(STRATEGIES, { message: `strategy must be one of ${STRATEGIES.join(', ')}` })
  strategy?: CredentialStrategy;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'null clears the override (not for openai_compatible).' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  base_url?: string | null;

  @ApiPropertyOptional({ description: 'true makes this the vendor default (unsetting the previous one); false unsets it.' })
  @Omittable()
  @IsBoolean()
  default?: boolean;

  // budgets above the vault keys (issue 19)
  @NullableUsdCap({ example: 10, description: `${PROFILE_DAILY_CAP_DOC}; null removes it` })
  daily_usd_cap?: number | null;

  @NullableUsdCap({ example: 250, description: `${PROFILE_MONTHLY_CAP_DOC}; null removes it` })
  monthly_usd_cap?: number | null;
}
