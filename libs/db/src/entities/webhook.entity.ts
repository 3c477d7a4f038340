import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

export const WEBHOOK_EVENT_TYPES = ['vault_key.cap_threshold', 'vault_key.cap_reached', 'vault_key.revoked'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

@Entity('webhooks')
@Index('ix_webhooks_tenant', ['tenantId', 'id'])
export class Webhook {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text' }) url: string;
  @Column({ type: 'text', array: true }) events: WebhookEventType[];
  @Column({ type: 'integer', name: 'threshold_pct', default: 80 }) thresholdPct: number;
  /** HMAC secret sealed under the tenant's data key (AAD = tenant id + webhook id) */
  @Column({ type: 'bytea', name: 'secret_sealed' }) secretSealed: Buffer;
  @Column({ type: 'integer', name: 'data_key_version' }) dataKeyVersion: number;
  @CreatedAt() createdAt: Date;
  @Column({ type: 'timestamptz', name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}
