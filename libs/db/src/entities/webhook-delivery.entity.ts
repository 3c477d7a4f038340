import { Column, Entity, Index, UpdateDateColumn } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One event owed to one webhook; the delivery worker claims due rows with SKIP LOCKED. */
@Entity('webhook_deliveries')
@Index('uq_webhook_deliveries_event', ['webhookId', 'eventId'], { unique: true })
@Index('ix_webhook_deliveries_due', ['nextAttemptAt'], { where: "status = 'pending'" })
@Index('ix_webhook_deliveries_webhook', ['webhookId', 'id'])
export class WebhookDelivery {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'webhook_id' }) webhookId: string;
  @RefColumn({ name: 'event_id' }) eventId: string;
  @Column({ type: 'text', default: 'pending' }) status: DeliveryStatus;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ type: 'timestamptz', name: 'next_attempt_at' }) nextAttemptAt: Date;
  @Column({ type: 'timestamptz', name: 'last_attempt_at', nullable: true }) lastAttemptAt: Date | null;
  @Column({ type: 'integer', name: 'last_status_code', nullable: true }) lastStatusCode: number | null;
  @Column({ type: 'text', name: 'last_error', nullable: true }) lastError: string | null;
  /** Set while a worker holds the delivery (an attempt in flight); cleared when it records the outcome. */
  @Column({ type: 'timestamptz', name: 'leased_until', nullable: true }) leasedUntil: Date | null;
  /** A redelivery is one more attempt: a failure at this count gives up whatever the retry policy says. */
  @Column({ type: 'integer', name: 'attempt_limit', nullable: true }) attemptLimit: number | null;
  @CreatedAt() createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
}
