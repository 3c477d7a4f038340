import { ApiProperty } from '@nestjs/swagger';
import { USAGE_GROUPS, type UsageGroup } from './dto/usage-query.dto';

export class UsageBucketView {
  @ApiProperty({ nullable: true, type: String, description: 'The vault key id, profile id, label, day (YYYY-MM-DD) or hour (ISO, UTC); null: calls without one' })
  key: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The vault key's label or the profile's name, when grouped by those" }) label: string | null;
  @ApiProperty({ description: 'USD, exactly the sum of the calls booked (up to 9 decimals)' }) spent_usd: number;
  @ApiProperty() calls: number;
  @ApiProperty({ description: 'Calls Keyvault refused (an error code)' }) refused: number;
}

export class RefusalCountView {
  @ApiProperty({ example: 'daily_cap_exceeded' }) code: string;
  @ApiProperty() count: number;
}

export class UsageView {
  @ApiProperty({ enum: ['usage'] }) object: 'usage';
  @ApiProperty({ enum: USAGE_GROUPS }) group_by: UsageGroup;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty() total_usd: number;
  @ApiProperty() calls: number;
  @ApiProperty({ type: UsageBucketView, isArray: true, description: 'Biggest spend first; oldest first for day and hour (every bucket of the range)' })
  data: UsageBucketView[];
  @ApiProperty({ type: RefusalCountView, isArray: true, description: 'Refusals in the range by error code, most first' }) refusals: RefusalCountView[];
}
