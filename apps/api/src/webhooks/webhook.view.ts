import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_KINDS, type DeliveryStatus, type Webhook, type WebhookEventType, type WebhookKind } from '@keyvault/db';
import { iso } from '../common/iso';

export class WebhookView {
  @ApiProperty({ example: 'whk_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['webhook'] }) object: 'webhook';
  @ApiProperty({ enum: WEBHOOK_KINDS }) kind: WebhookKind;
  @ApiProperty({ nullable: true, type: String, description: 'null for email webhooks' }) url: string | null;
  @ApiProperty({ nullable: true, type: String, isArray: true, description: 'recipients (email webhooks only)' }) to: string[] | null;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: WebhookEventType[];
  @ApiProperty() threshold_pct: number;
  @ApiProperty() created_at: string;

  static of(w: Webhook): WebhookView {
    return {
      id: w.id,
      object: 'webhook',
      kind: w.kind,
      url: w.url,
      to: w.emailTo,
      events: w.events,
      threshold_pct: w.thresholdPct,
      created_at: w.createdAt.toISOString(),
    };
  }
}

export class CreatedWebhookView extends WebhookView {
  @ApiPropertyOptional({ description: 'Signing secret (whsec_...) of a signed webhook. Shown only in this response.' })
  secret?: string;
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
  in_flight: boolean;
  created_at: Date;
}

/** One attempt row, as read from webhook_delivery_attempts. */
export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: Date;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export class DeliveryAttemptView {
  @ApiProperty({ description: 'When the attempt started' }) at: string;
  @ApiProperty({ nullable: true, type: Number, description: "The receiver's HTTP status (the SMTP reply code for email); null when none came back" })
  status: number | null;
  @ApiProperty() duration_ms: number;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The start of the receiver's answer" }) response_excerpt: string | null;

  static of(a: AttemptRow): DeliveryAttemptView {
    return { at: a.at.toISOString(), status: a.status_code, duration_ms: a.duration_ms, error: a.error, response_excerpt: a.response_excerpt };
  }
}

export class WebhookDeliveryView {
  @ApiProperty({ example: 'whd_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['webhook_delivery'] }) object: 'webhook_delivery';
  @ApiProperty() webhook_id: string;
  @ApiProperty({ description: 'The event id, also sent as Keyvault-Event-Id' }) event_id: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, nullable: true }) event_type: WebhookEventType | null;
  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'] }) status: DeliveryStatus;
  @ApiProperty({ description: 'true while an attempt is in flight' }) in_flight: boolean;
  @ApiProperty({ description: 'How many attempts were made' }) attempt_count: number;
  @ApiProperty({ type: DeliveryAttemptView, isArray: true, description: 'Every attempt, oldest first' }) attempts: DeliveryAttemptView[];
  @ApiProperty({ nullable: true, type: Number }) last_status_code: number | null;
  @ApiProperty({ nullable: true, type: String }) last_error: string | null;
  @ApiProperty({ nullable: true, type: String }) last_attempt_at: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the next attempt is due (pending only)' }) next_attempt_at: string | null;
  @ApiProperty() created_at: string;

  static of(d: DeliveryRow, attempts: AttemptRow[]): WebhookDeliveryView {
    return {
      id: d.id,
      object: 'webhook_delivery',
      webhook_id: d.webhook_id,
      event_id: d.event_id,
      event_type: d.event_type,
      status: d.status,
      in_flight: d.in_flight,
      attempt_count: d.attempts,
      attempts: attempts.filter((a) => a.delivery_id === d.id).map(DeliveryAttemptView.of),
      last_status_code: d.last_status_code,
      last_error: d.last_error,
      last_attempt_at: iso(d.last_attempt_at),
      next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
      created_at: d.created_at.toISOString(),
    };
  }
}
