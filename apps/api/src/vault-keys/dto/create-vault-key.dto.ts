import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Length, Validate } from 'class-validator';
import { VENDORS, type Vendor } from '@keyvault/config';
import { CAPTURE_LEVELS, type CaptureLevel } from '@keyvault/db';
import { IsDuration } from '../../common/is-duration.validator';
import { IsMetadata } from './metadata.validator';
import { IsUsdCap } from './usd-amount.validator';

export class CreateVaultKeyDto {
  @ApiProperty({ enum: VENDORS, example: 'stripe' })
  @IsIn(VENDORS, { message: `vendor must be one of ${VENDORS.join(', ')}` })
  vendor: Vendor;

  @ApiPropertyOptional({
    example: 'client_a_stripe',
    description: "Credential profile name or id. Default: the tenant's default profile for the vendor.",
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  credential?: string;

  @ApiProperty({ example: 100, description: 'USD per UTC day, above 0, at most 1000000, at most 9 decimals' })
  @Validate(IsUsdCap)
  daily_usd_cap: number;

  /** Each entry is checked by the policy parser in the service, which reports `allowed_endpoints.N`. */
  @ApiProperty({ example: ['POST /v1/payment_intents'], type: [String], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  allowed_endpoints: string[];

  @ApiProperty({ example: '2h', description: "30m, 2h, 72h, 7d...; at most the tenant's max_vault_key_ttl" })
  @Validate(IsDuration)
  expires_in: string;

  @ApiPropertyOptional({ example: 'dify-chat-42-s1' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { user_id: 'u_42', conversation_id: 'c_9' },
    description: 'Flat map of strings: at most 50 keys of 40 characters, values of 500',
  })
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;

  // capture (issue 21)
  @ApiPropertyOptional({
    enum: CAPTURE_LEVELS,
    default: 'none',
    description: "What the proxy keeps of this key's calls, sealed and redacted, readable at GET /audit/{id}: none, metadata (headers), or bodies (headers and bodies)",
  })
  @IsOptional()
  @IsIn(CAPTURE_LEVELS, { message: `capture must be one of ${CAPTURE_LEVELS.join(', ')}` })
  capture?: CaptureLevel;
}
