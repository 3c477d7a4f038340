import { ApiProperty } from '@nestjs/swagger';
import type { Tenant } from '@keyvault/db';
import { formatDuration, nanosToUsd } from '@keyvault/policy';
import type { PeriodSpend } from '../budgets/budget-spend';

export class TenantView {
  @ApiProperty({ example: 'ten_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['tenant'] }) object: 'tenant';
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: ['active', 'disabled'] }) status: string;
  @ApiProperty({ example: '30d' }) max_vault_key_ttl: string;
  // budgets above the keys (issue 19)
  @ApiProperty({ nullable: true, type: Number, example: 5000, description: "USD the tenant's keys may spend together per calendar month (UTC); null: no cap" })
  monthly_usd_cap: number | null;
  @ApiProperty({ example: '2026-12', description: 'The calendar month (UTC) the spend below is for' }) month: string;
  @ApiProperty({ example: 1234.5, description: "What the tenant's finished calls cost this month, USD (up to 9 decimals)" }) spent_this_month_usd: number;
  @ApiProperty({
    example: 0.3,
    description: 'USD held against monthly_usd_cap now and not spent (calls in flight, proxy leases); spent_this_month_usd + reserved_this_month_usd never passes monthly_usd_cap',
  })
  reserved_this_month_usd: number;
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;

  static of(t: Tenant, spend: PeriodSpend): TenantView {
    return {
      id: t.id,
      object: 'tenant',
      name: t.name,
      slug: t.slug,
      status: t.status,
      max_vault_key_ttl: formatDuration(t.maxVaultKeyTtlSeconds),
      monthly_usd_cap: t.monthlyCapNanos === null ? null : nanosToUsd(t.monthlyCapNanos),
      month: spend.period,
      spent_this_month_usd: nanosToUsd(spend.spentNanos),
      reserved_this_month_usd: nanosToUsd(spend.reservedNanos),
      created_at: t.createdAt.toISOString(),
      updated_at: t.updatedAt.toISOString(),
    };
  }
}
