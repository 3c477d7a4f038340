import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';
import type { WebhookEventType } from './webhook.entity';

/** The outbox: written in the same transaction as what caused the event. */
@Entity('webhook_events')
@Index('ix_webhook_events_tenant', ['tenantId', 'id'])
export class WebhookEvent {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text' }) type: WebhookEventType;
  /** Makes "once per key per day" events idempotent under concurrency. */
  @Index('uq_webhook_events_dedupe', { unique: true })
  @Column({ type: 'text', name: 'dedupe_key', nullable: true })
  dedupeKey: string | null;
  @Column({ type: 'jsonb' }) payload: Record<string, unknown>;
  @CreatedAt() createdAt: Date;
}
