import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsIn, IsInt, IsString, Length, Max, Min, ValidateIf,
} from 'class-validator';
import { Omittable } from '../../common/omittable';
import { IsEmailAddress } from './is-email-address.validator';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_KINDS, type WebhookEventType, type WebhookKind } from '@keyvault/db';

export class CreateWebhookDto {
  @ApiPropertyOptional({ enum: WEBHOOK_KINDS, default: 'signed', description: 'signed JSON to `url`, a Slack incoming webhook at `url`, or email to `to`' })
  @Omittable()
  @IsIn(WEBHOOK_KINDS, { message: `kind must be one of ${WEBHOOK_KINDS.join(', ')}` })
  kind?: WebhookKind;

  @ApiPropertyOptional({ example: 'https://ops.example.com/keyvault-events', description: 'https, on a public address; required unless kind is email' })
  @ValidateIf((o: CreateWebhookDto) => o.kind !== 'email' || o.url !== undefined)
  @IsString()
  @Length(1, 2048)
  url?: string;

  @ApiPropertyOptional({ example: ['ops@example.com'], description: 'recipients of an email webhook (kind email only)' })
  @ValidateIf((o: CreateWebhookDto) => o.kind === 'email' || o.to !== undefined)
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsEmailAddress({ each: true, message: 'each of to must be an email address' })
  to?: string[];

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each event must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events: WebhookEventType[];

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 80, description: 'vault_key.cap_threshold fires when a key spends this share of its daily cap' })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(100)
  threshold_pct?: number;
}
