import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/** `?limit=` (1..100, default 20) and `?starting_after=<id>`, as in the contract. */
export class ListQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ description: 'The last id of the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z]+_[0-9a-z]{26}$/, { message: 'starting_after must be an id' })
  starting_after?: string;
}
