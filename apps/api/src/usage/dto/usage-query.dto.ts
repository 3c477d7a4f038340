import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches } from 'class-validator';

export const USAGE_GROUPS = ['vault_key', 'credential', 'label', 'day', 'hour'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const message = (p: string) => `${p} must be an ISO 8601 date or date-time with a zone, e.g. 2026-11-30T08:00:00Z`;

export class UsageQueryDto {
  @ApiPropertyOptional({ enum: USAGE_GROUPS, default: 'vault_key' })
  @IsOptional()
  @IsIn(USAGE_GROUPS, { message: `group_by must be one of ${USAGE_GROUPS.join(', ')}` })
  group_by?: UsageGroup;

  @ApiPropertyOptional({ description: 'Inclusive lower bound (ISO 8601). Default: 24 hours before `to` for hour, 30 days before for the rest' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: message('from') })
  @IsISO8601({ strict: true }, { message: message('from') })
  from?: string;

  @ApiPropertyOptional({ description: 'Exclusive upper bound (ISO 8601). Default: now' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: message('to') })
  @IsISO8601({ strict: true }, { message: message('to') })
  to?: string;
}
