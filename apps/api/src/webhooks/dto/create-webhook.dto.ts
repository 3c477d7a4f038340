import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@keyvault/db';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://ops.example.com/keyvault-events', description: 'https, on a public address' })
  @IsString()
  @Length(1, 2048)
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each event must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events: WebhookEventType[];

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 80, description: 'vault_key.cap_threshold fires when a key spends this share of its daily cap' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  threshold_pct?: number;
}
