import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { VENDORS } from '@keyvault/config';
import { CAPTURE_LEVELS, type CaptureLevel } from '@keyvault/db';
import { INPUT_KINDS, nanosToUsd } from '@keyvault/policy';
import { iso } from '../common/iso';
import { duplicateWindowText } from './guardrails';
import { VAULT_KEY_STATUSES, type VaultKeyStatus } from './dto/list-vault-keys-query.dto';

/** A vault key's record as the service reads it (the token is never part of it). */
export interface VaultKeyRecord {
  id: string;
  vendor: string;
  credentialId: string;
  credentialName: string | null;
  /** null when the key has only a lifetime cap */
  dailyCapNanos: bigint | null;
  // lifetime cap (issue 19)
  totalCapNanos: bigint | null;
  /** what finished calls cost over the key's whole life, and what is held against it now */
  totalSpentNanos: bigint;
  totalReservedNanos: bigint;
  // guardrails (issue 19)
  maxCallNanos: bigint | null;
  allowedModels: string[] | null;
  duplicateWindowSeconds: number;
  maxCallsPerMinute: number | null;
  maxTokensPerMinute: number | null;
  /** issue 18: images, files, server tools (null: all) */
  allowedInputs: string[] | null;
  allowedEndpoints: string[];
  // issue 22: header allowlist
  allowedHeaders: string[];
  expiresAt: Date;
  label: string | null;
  metadata: Record<string, string>;
  // capture (issue 21)
  capture: CaptureLevel;
  status: VaultKeyStatus;
  /** what finished calls cost in the current UTC day */
  spentTodayNanos: bigint;
  /** what calls in flight and proxy leases hold against the cap now (released as they settle) */
  reservedNanos: bigint;
  revokedAt: Date | null;
  createdAt: Date;
  keyGroup: string | null;
  fallbackToShared: boolean;
}

export class VaultKeyView {
  @ApiProperty({ example: 'vk_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['vault_key'] }) object: 'vault_key';
  @ApiProperty({ enum: VENDORS }) vendor: string;
  @ApiProperty({ example: 'cred_01jd8x0000000000000000000', description: 'The credential profile id' }) credential: string;
  @ApiPropertyOptional({ nullable: true, type: String }) credential_name: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 100, description: 'USD per UTC day (up to 9 decimals); null: no daily cap (the key has a total_usd_cap)' })
  daily_usd_cap: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 500, description: "USD over the key's whole life; null: no lifetime cap" })
  total_usd_cap: number | null;
  @ApiProperty({ example: 42.5, description: "What finished calls cost over the key's whole life, USD (up to 9 decimals)" })
  total_spent_usd: number;
  @ApiProperty({
    example: 0.05,
    description: 'USD held against total_usd_cap now and not spent (calls in flight, proxy leases); total_spent_usd + total_reserved_usd never passes total_usd_cap',
  })
  total_reserved_usd: number;
  // guardrails (issue 19)
  @ApiProperty({ nullable: true, type: Number, example: 100, description: 'USD: the largest call (known cost or LLM worst case) admitted; null: no limit' })
  max_usd_per_call: number | null;
  @ApiProperty({ nullable: true, type: [String], example: ['gpt-4o-mini'], description: 'Model globs admitted for LLM calls; null: any priced model' })
  allowed_models: string[] | null;
  @ApiProperty({ example: '10m', description: 'The window in which a repeated money-moving call is a duplicate; `0`: off' })
  duplicate_window: string;
  @ApiProperty({ nullable: true, type: Number, example: 30, description: 'Calls admitted in any 60 s window; null: no limit' })
  max_calls_per_minute: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 200000, description: 'LLM tokens admitted in any 60 s window; null: no limit' })
  max_tokens_per_minute: number | null;
  @ApiProperty({
    nullable: true,
    type: [String],
    enum: INPUT_KINDS,
    example: ['images'],
    description: "LLM inputs the body's bytes do not bound that calls may carry (images, files, server_tools); null: all",
  })
  allowed_inputs: string[] | null;
  @ApiProperty({ type: [String], example: ['POST /v1/payment_intents'] }) allowed_endpoints: string[];
  // issue 22: header allowlist
  @ApiProperty({ type: [String], example: [], description: "Header names let through beyond the vendor's allowlist (lowercase)" }) allowed_headers: string[];
  @ApiProperty() expires_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) label: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  // capture (issue 21)
  @ApiProperty({ enum: CAPTURE_LEVELS }) capture: CaptureLevel;
  @ApiProperty({ enum: VAULT_KEY_STATUSES }) status: VaultKeyStatus;
  @ApiProperty({ example: 12.34, description: 'What finished calls cost in the current UTC day, USD (up to 9 decimals)' }) spent_today_usd: number;
  @ApiProperty({
    example: 0.05,
    description:
      "USD held against the cap now and not spent: the worst cases of calls in flight and the room proxy instances lease ahead (given back within about a second of traffic stopping). spent_today_usd + reserved_usd never passes daily_usd_cap.",
  })
  reserved_usd: number;
  @ApiProperty() created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) revoked_at: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'team-a', description: "The provider keys this key's calls use: that group's; null: the profile's shared keys" })
  key_group: string | null;
  @ApiProperty({ description: "With key_group: use the profile's shared keys once the group's keys are all cooling down" })
  fallback_to_shared: boolean;

  static of(k: VaultKeyRecord): VaultKeyView {
    return {
      id: k.id,
      object: 'vault_key',
      vendor: k.vendor,
      credential: k.credentialId,
      credential_name: k.credentialName,
      daily_usd_cap: k.dailyCapNanos === null ? null : nanosToUsd(k.dailyCapNanos),
      total_usd_cap: k.totalCapNanos === null ? null : nanosToUsd(k.totalCapNanos),
      total_spent_usd: nanosToUsd(k.totalSpentNanos),
      total_reserved_usd: nanosToUsd(k.totalReservedNanos),
      max_usd_per_call: k.maxCallNanos === null ? null : nanosToUsd(k.maxCallNanos),
      allowed_models: k.allowedModels,
      duplicate_window: duplicateWindowText(k.duplicateWindowSeconds),
      max_calls_per_minute: k.maxCallsPerMinute,
      max_tokens_per_minute: k.maxTokensPerMinute,
      allowed_inputs: k.allowedInputs,
      allowed_endpoints: k.allowedEndpoints,
      allowed_headers: k.allowedHeaders,
      expires_at: k.expiresAt.toISOString(),
      label: k.label,
      metadata: k.metadata,
      capture: k.capture,
      status: k.status,
      spent_today_usd: nanosToUsd(k.spentTodayNanos),
      reserved_usd: nanosToUsd(k.reservedNanos),
      created_at: k.createdAt.toISOString(),
      revoked_at: iso(k.revokedAt),
      key_group: k.keyGroup,
      fallback_to_shared: k.fallbackToShared,
    };
  }
}

export class IssuedVaultKeyView extends VaultKeyView {
  @ApiProperty({ example: 'vault_key_eyJhbGciOiJFZERTQSIs...', description: 'The vault key itself. Shown only in this response.' })
  vault_key: string;

  static issued(k: VaultKeyRecord, token: string): IssuedVaultKeyView {
    const { id, object, ...rest } = VaultKeyView.of(k);
    // the token right after id and object, as the contract lists it
    return { id, object, vault_key: token, ...rest };
  }
}

export class RevocationView {
  @ApiProperty({ enum: ['revocation'] }) object: 'revocation';
  @ApiProperty({ description: 'How many active vault keys were revoked' }) revoked: number;
}
