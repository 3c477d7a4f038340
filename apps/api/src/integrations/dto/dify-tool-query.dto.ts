import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { DIFY_TOOL_VENDORS, type DifyToolVendor } from '../dify-tool-schema';

export class DifyToolQueryDto {
  @ApiProperty({ enum: DIFY_TOOL_VENDORS, description: 'The vendor the tool calls through the proxy.' })
  @IsIn(DIFY_TOOL_VENDORS, { message: `vendor must be one of ${DIFY_TOOL_VENDORS.join(', ')}` })
  vendor: DifyToolVendor;
}
