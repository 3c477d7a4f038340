import { Column, Entity, PrimaryColumn } from 'typeorm';
import { RefColumn } from './columns';

/** One try at a delivery, as the delivery history shows it (GET /webhooks/{id}/deliveries/{delivery_id}). */
@Entity('webhook_delivery_attempts')
export class WebhookDeliveryAttempt {
  @PrimaryColumn({ type: 'text', name: 'delivery_id', collation: 'C', primaryKeyConstraintName: 'PK_webhook_delivery_attempts' }) deliveryId: string;
  /** The delivery's attempt count when it was claimed: 1, 2, ... */
  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'PK_webhook_delivery_attempts' }) attempt: number;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'timestamptz' }) at: Date;
  /** The receiver's HTTP status (the SMTP reply code for email); null when none came back. */
  @Column({ type: 'integer', name: 'status_code', nullable: true }) statusCode: number | null;
  @Column({ type: 'integer', name: 'duration_ms' }) durationMs: number;
  @Column({ type: 'text', nullable: true }) error: string | null;
  /** The start of what the receiver answered, cut short. */
  @Column({ type: 'text', name: 'response_excerpt', nullable: true }) responseExcerpt: string | null;
}
