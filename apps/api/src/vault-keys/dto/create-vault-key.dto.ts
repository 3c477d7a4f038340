import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsString, Length, Matches, Max, Min, Validate } from 'class-validator';
import { Omittable } from '../../common/omittable';
import { VENDORS, type Vendor } from '@keyvault/config';
import { CAPTURE_LEVELS, type CaptureLevel } from '@keyvault/db';
import { INPUT_KINDS, type InputKind } from '@keyvault/policy';
import { IsDuration } from '../../common/is-duration.validator';
import { KEY_GROUP, KEY_GROUP_MESSAGE } from '../../credentials/dto/key-group';
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
  @Omittable()
  @IsString()
  @Length(1, 200)
  credential?: string;

  @ApiPropertyOptional({
    example: 100,
    description: 'USD per UTC day, above 0, at most 1000000, at most 9 decimals. Required unless total_usd_cap is set (400 cap_required when neither is)',
  })
  // null is refused (not taken for absent): a key without a daily cap leaves the field out
  @Omittable()
  @Validate(IsUsdCap)
  daily_usd_cap?: number;

  @ApiPropertyOptional({
    example: 500,
    description:
      "USD over the key's whole life, across every day, beside daily_usd_cap (either or both; 400 cap_required when neither is set). A call that would pass it is refused (429 total_cap_exceeded, no Retry-After: it never resets)",
  })
  @Omittable()
  @Validate(IsUsdCap)
  total_usd_cap?: number;

  // guardrails (issue 19): each checked again by the service, which reports the field at fault
  @ApiPropertyOptional({
    example: 100,
    description: 'USD: a call whose known cost (Stripe amount, Twilio message, Resend email) or LLM worst case is above it is refused (403 per_call_limit_exceeded) before anything is sent',
  })
  @Omittable()
  @Validate(IsUsdCap)
  max_usd_per_call?: number;

  @ApiPropertyOptional({
    type: [String],
    example: ['gpt-4o-mini', 'claude-3-5-haiku-*'],
    description: "LLM vendors only: globs (`*` any characters) matched on the body's `model`; any other model is refused (403 model_not_allowed)",
    minItems: 1,
    maxItems: 50,
  })
  @Omittable()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  allowed_models?: string[];

  @ApiPropertyOptional({
    type: [String],
    enum: INPUT_KINDS,
    example: ['images'],
    description:
      "LLM vendors only: the inputs a body's bytes do not bound that calls may carry: `images`, `files` (documents, PDFs), `server_tools` (tools the vendor runs, e.g. web search). Each reserves the price list's worst case. A call carrying another kind is refused (403 input_not_allowed). `[]` refuses all three; absent: all three",
    maxItems: 3,
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(3)
  @IsIn(INPUT_KINDS, { each: true, message: `allowed_inputs entries must be one of ${INPUT_KINDS.join(', ')}` })
  allowed_inputs?: InputKind[];

  @ApiPropertyOptional({
    example: '10m',
    description:
      "Within this window a second money-moving call with the same method, path and body is a duplicate: Stripe answers the first object (the proxy sends the first call's Idempotency-Key), Twilio and Resend duplicates are refused (409 duplicate_request). `0` turns it off; at most 24h. Default: 10m for stripe, twilio and resend, 0 for the rest",
  })
  @Omittable()
  @IsString()
  duplicate_window?: string;

  @ApiPropertyOptional({
    example: 30,
    minimum: 1,
    maximum: 10000,
    description: 'Calls admitted in any 60 s window, across all proxy instances; more are refused (429 rate_limited, Retry-After)',
  })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(10_000)
  max_calls_per_minute?: number;

  @ApiPropertyOptional({
    example: 200000,
    minimum: 1,
    maximum: 100000000,
    description: 'LLM vendors: tokens (each call counted at its worst case when admitted, settled to its usage) in any 60 s window, across all proxy instances (429 rate_limited, Retry-After)',
  })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  max_tokens_per_minute?: number;

  /** Each entry is checked by the policy parser in the service, which reports `allowed_endpoints.N`. */
  @ApiProperty({ example: ['POST /v1/payment_intents'], type: [String], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  allowed_endpoints: string[];

  // issue 22: header allowlist
  /** Each entry is checked in the service (a header name, not a credential carrier), which reports `allowed_headers.N`. */
  @ApiPropertyOptional({
    type: [String],
    maxItems: 20,
    example: ['anthropic-beta'],
    description:
      "Header names (case-insensitive) this key lets through in both directions beyond its vendor's allowlist, e.g. anthropic-beta. Never authorization, x-api-key, host or hop-by-hop headers. Default: none.",
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  allowed_headers?: string[];

  @ApiProperty({ example: '2h', description: "30m, 2h, 72h, 7d...; at most the tenant's max_vault_key_ttl" })
  @Validate(IsDuration)
  expires_in: string;

  @ApiPropertyOptional({ example: 'dify-chat-42-s1' })
  @Omittable()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { user_id: 'u_42', conversation_id: 'c_9' },
    description: 'Flat map of strings: at most 50 keys of 40 characters, values of 500',
  })
  @Omittable()
  @IsMetadata()
  metadata?: Record<string, string>;

  // key groups (issue 20)
  @ApiPropertyOptional({
    example: 'team-a',
    description: "Use only the profile's provider keys of this group (round robin or failover within it). Absent: the profile's shared keys (those without a group). Unknown in the profile: 422 unknown_key_group.",
  })
  @Omittable()
  @IsString()
  @Matches(KEY_GROUP, { message: KEY_GROUP_MESSAGE })
  key_group?: string;

  @ApiPropertyOptional({ default: false, description: "With key_group: use the profile's shared keys once the group's keys are all cooling down (quota, rate limit)." })
  @Omittable()
  @IsBoolean()
  fallback_to_shared?: boolean;

  // capture (issue 21)
  @ApiPropertyOptional({
    enum: CAPTURE_LEVELS,
    default: 'none',
    description: "What the proxy keeps of this key's calls, sealed and redacted, readable at GET /audit/{id}: none, metadata (headers), or bodies (headers and bodies)",
  })
  @Omittable()
  @IsIn(CAPTURE_LEVELS, { message: `capture must be one of ${CAPTURE_LEVELS.join(', ')}` })
  capture?: CaptureLevel;
}
