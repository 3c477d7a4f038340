import { ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import { ListQueryDto } from '../../common/list-query.dto';

/** A date, or a date-time with Z or an offset: a time without a zone would depend on the server's. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const TIMESTAMP_MESSAGE = (p: string) => `${p} must be an ISO 8601 date or date-time with a zone, e.g. 2026-11-30T08:00:00Z`;

/** The filters GET /audit and GET /audit/export share. */
export class AuditFiltersDto {
  @ApiPropertyOptional({ description: 'A vault key id (vk_...)' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  vault_key?: string;

  @ApiPropertyOptional({ description: 'The X-Run-Id the call carried' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  run_id?: string;

  @ApiPropertyOptional({ description: 'The X-Conversation-Id the call carried' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  conversation_id?: string;

  @ApiPropertyOptional({ description: 'An HTTP status (429) or a class (2xx, 4xx, 5xx)', example: '4xx' })
  @IsOptional()
  @IsString()
  @Matches(/^[1-5](?:\d\d|xx)$/, { message: 'status must be an HTTP status such as 429 or a class such as 4xx' })
  status?: string;

  @ApiPropertyOptional({ description: 'Inclusive lower bound (ISO 8601)', example: '2026-11-30T00:00:00Z' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE('from') })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE('from') })
  from?: string;

  @ApiPropertyOptional({ description: 'Exclusive upper bound (ISO 8601)', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE('to') })
  @IsISO8601({ strict: true }, { message: TIMESTAMP_MESSAGE('to') })
  to?: string;
}

export class AuditListQueryDto extends IntersectionType(ListQueryDto, AuditFiltersDto) {}

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export class AuditExportQueryDto extends AuditFiltersDto {
  @ApiPropertyOptional({ enum: EXPORT_FORMATS, default: 'jsonl' })
  @IsOptional()
  @IsIn(EXPORT_FORMATS, { message: 'format must be jsonl or csv' })
  format: ExportFormat = 'jsonl';
}
