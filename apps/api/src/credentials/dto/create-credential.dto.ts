import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsString, Length, Matches, MaxLength } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { VENDORS, type Vendor } from '@keyvault/config';
import type { Secret } from '@keyvault/crypto';
import type { CredentialStrategy } from '@keyvault/db';
import { NullableUsdCap } from '../../vault-keys/dto/usd-amount.validator';
import { IsProviderKey, PROVIDER_KEY_MAX, PROVIDER_KEY_MIN, ToSecret } from './provider-key';

export const STRATEGIES: readonly CredentialStrategy[] = ['round_robin', 'failover'];
export const MAX_ACTIVE_KEYS = 20;

/** Names are unique per tenant; one shaped like a profile id would make `GET /credentials/{id or name}` ambiguous. */
export const CREDENTIAL_NAME = /^(?!cred_[0-9a-z]{26}$)[A-Za-z0-9_.-]+$/;
export const CREDENTIAL_NAME_MESSAGE = "name must be letters, digits, '_', '.' or '-' (and not shaped like a credential id)";

/** What a profile's caps mean (issue 19), for creating and updating alike. */
export const PROFILE_DAILY_CAP_DOC =
  "USD the profile's vault keys may spend together per UTC day, across every proxy instance; a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to UTC midnight). null: none";
export const PROFILE_MONTHLY_CAP_DOC =
  "USD the profile's vault keys may spend together per calendar month (UTC); a call that would pass it is refused (429 profile_cap_exceeded, Retry-After: seconds to the month's end). null: none";

export class CreateCredentialDto {
  @ApiProperty({ example: 'client_a_openai', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' })
  @IsString()
  @Length(1, 100)
  @Matches(CREDENTIAL_NAME, { message: CREDENTIAL_NAME_MESSAGE })
  name: string;

  @ApiProperty({ enum: VENDORS, example: 'openai' })
  @IsIn(VENDORS, { message: `vendor must be one of ${VENDORS.join(', ')}` })
  vendor: Vendor;

  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: MAX_ACTIVE_KEYS,
    writeOnly: true,
    description: `The provider's real keys (${PROVIDER_KEY_MIN} to ${PROVIDER_KEY_MAX} characters, no whitespace). Stored encrypted; no response ever shows them again, only their last 4 characters.`,
  })
  @ToSecret()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ACTIVE_KEYS)
  @IsProviderKey({ each: true })
  keys: Secret[];

  @ApiPropertyOptional({ enum: STRATEGIES, default: 'round_robin', description: 'How the proxy spreads calls over the keys.' })
  @Omittable()
  @IsIn(STRATEGIES, { message: `strategy must be one of ${STRATEGIES.join(', ')}` })
  strategy?: CredentialStrategy;

  @ApiPropertyOptional({
    example: 'https://api.groq.com/openai',
    description: 'Required for openai_compatible; otherwise overrides the vendor URL. https and a public address unless KEYVAULT_ALLOW_PRIVATE_UPSTREAMS.',
  })
  @Omittable()
  @IsString()
  @MaxLength(2048)
  base_url?: string;

  @ApiPropertyOptional({ description: "The vendor's default profile for vault keys that name none. The vendor's first profile becomes default when absent." })
  @Omittable()
  @IsBoolean()
  default?: boolean;

  // budgets above the vault keys (issue 19)
  @NullableUsdCap({ example: 10, description: PROFILE_DAILY_CAP_DOC })
  daily_usd_cap?: number | null;

  @NullableUsdCap({ example: 250, description: PROFILE_MONTHLY_CAP_DOC })
  monthly_usd_cap?: number | null;
}
