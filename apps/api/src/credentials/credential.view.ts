import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { VENDORS } from '@keyvault/config';
import { nanosToUsd } from '@keyvault/policy';
import { iso } from '../common/iso';
import type { CredentialKeySummary, CredentialWithKeys } from './credentials.service';
import { STRATEGIES } from './dto/create-credential.dto';

/** A provider key as the api shows it: never the key, only its last 4 characters. */
export class CredentialKeyView {
  @ApiProperty({ example: 'ck_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ example: 'x7Qa', description: 'The last 4 characters of the key' }) last4: string;
  @ApiProperty({ enum: ['active', 'retired'] }) status: string;
  @ApiProperty() created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) retired_at: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'team-a', description: 'null: a shared key; else only vault keys naming this key_group use it' })
  group: string | null;

  static of(k: CredentialKeySummary): CredentialKeyView {
    return { id: k.id, last4: k.last4, status: k.status, created_at: k.createdAt.toISOString(), retired_at: iso(k.retiredAt), group: k.group };
  }
}

export class CredentialView {
  @ApiProperty({ example: 'cred_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['credential'] }) object: 'credential';
  @ApiProperty({ example: 'client_a_openai' }) name: string;
  @ApiProperty({ enum: VENDORS }) vendor: string;
  @ApiProperty({ enum: STRATEGIES }) strategy: string;
  @ApiPropertyOptional({ nullable: true, type: String }) base_url: string | null;
  @ApiProperty() default: boolean;
  @ApiProperty({ type: [CredentialKeyView], description: 'In failover order; retired keys stay listed as retired.' }) keys: CredentialKeyView[];
  // budgets above the vault keys (issue 19)
  @ApiProperty({ nullable: true, type: Number, example: 10, description: "USD the profile's vault keys may spend together per UTC day; null: no cap" })
  daily_usd_cap: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 250, description: "USD the profile's vault keys may spend together per calendar month (UTC); null: no cap" })
  monthly_usd_cap: number | null;
  @ApiProperty({ example: '2026-12-07', description: 'The UTC day the *_today_usd fields are for' }) day: string;
  @ApiProperty({ example: 3.2, description: "What the profile's finished calls cost today (UTC), USD (up to 9 decimals)" }) spent_today_usd: number;
  @ApiProperty({ example: 0.3, description: 'USD held against daily_usd_cap now and not spent (calls in flight, proxy leases); spent + reserved never passes the cap' })
  reserved_today_usd: number;
  @ApiProperty({ example: '2026-12', description: 'The calendar month (UTC) the *_this_month_usd fields are for' }) month: string;
  @ApiProperty({ example: 120.75, description: "What the profile's finished calls cost this month (UTC), USD" }) spent_this_month_usd: number;
  @ApiProperty({ example: 0.3, description: 'USD held against monthly_usd_cap now and not spent' }) reserved_this_month_usd: number;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;

  static of({ profile: p, keys, spend }: CredentialWithKeys): CredentialView {
    return {
      id: p.id,
      object: 'credential',
      name: p.name,
      vendor: p.vendor,
      strategy: p.strategy,
      base_url: p.baseUrl,
      default: p.isDefault,
      keys: keys.map(CredentialKeyView.of),
      daily_usd_cap: p.dailyCapNanos === null ? null : nanosToUsd(p.dailyCapNanos),
      monthly_usd_cap: p.monthlyCapNanos === null ? null : nanosToUsd(p.monthlyCapNanos),
      day: spend.day.period,
      spent_today_usd: nanosToUsd(spend.day.spentNanos),
      reserved_today_usd: nanosToUsd(spend.day.reservedNanos),
      month: spend.month.period,
      spent_this_month_usd: nanosToUsd(spend.month.spentNanos),
      reserved_this_month_usd: nanosToUsd(spend.month.reservedNanos),
      created_at: p.createdAt.toISOString(),
      updated_at: p.updatedAt.toISOString(),
    };
  }
}

export class DeletedCredentialView {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['credential'] }) object: 'credential';
  @ApiProperty({ enum: [true] }) deleted: true;
  @ApiProperty({ description: 'How many active vault keys were revoked with it' }) revoked_vault_keys: number;
}
