import { ApiProperty } from '@nestjs/swagger';
import { WEBHOOK_EVENT_TYPES, type DeliveryStatus, type Webhook, type WebhookEventType } from '@keyvault/db';
import { iso } from '../common/iso';

export class WebhookView {
  @ApiProperty({ example: 'whk_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['webhook'] }) object: 'webhook';
  @ApiProperty() url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: WebhookEventType[];
  @ApiProperty() threshold_pct: number;
  @ApiProperty() created_at: string;

  static of(w: Webhook): WebhookView {
    return {
      id: w.id,
      object: 'webhook',
      url: w.url,
      events: w.events,
      threshold_pct: w.thresholdPct,
      created_at: w.createdAt.toISOString(),
    };
  }
}

export class CreatedWebhookView extends WebhookView {
  @ApiProperty({ description: 'Signing secret (whsec_...). Shown only in this response.' })
  secret: string;
}

/** A delivery row joined with its event's type, as read for GET /webhooks/{id}/deliveries. */
export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventType | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  created_at: Date;
}

export class WebhookDeliveryView {
  @ApiProperty({ example: 'whd_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['webhook_delivery'] }) object: 'webhook_delivery';
  @ApiProperty() webhook_id: string;
  @ApiProperty({ description: 'The event id, also sent as Keyvault-Event-Id' }) event_id: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, nullable: true }) event_type: WebhookEventType | null;
  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'] }) status: DeliveryStatus;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: Number }) last_status_code: number | null;
  @ApiProperty({ nullable: true, type: String }) last_error: string | null;
  @ApiProperty({ nullable: true, type: String }) last_attempt_at: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the next attempt is due (pending only)' }) next_attempt_at: string | null;
  @ApiProperty() created_at: string;

  static of(d: DeliveryRow): WebhookDeliveryView {
    return {
      id: d.id,
      object: 'webhook_delivery',
      webhook_id: d.webhook_id,
      event_id: d.event_id,
      event_type: d.event_type,
      status: d.status,
      attempts: d.attempts,
      last_status_code: d.last_status_code,
      last_error: d.last_error,
      last_attempt_at: iso(d.last_attempt_at),
      next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
      created_at: d.created_at.toISOString(),
    };
  }
}
