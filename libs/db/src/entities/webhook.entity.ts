import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

export const WEBHOOK_EVENT_TYPES = [
  'vault_key.cap_threshold', 'vault_key.cap_reached', 'vault_key.revoked',
  // budgets above the key (issue 19): a credential profile's daily or monthly cap
  'credential.cap_threshold', 'credential.cap_reached',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** How a webhook is delivered: signed JSON to a URL, a Slack incoming webhook, or email over SMTP. */
export const WEBHOOK_KINDS = ['signed', 'slack', 'email'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

@Entity('webhooks')
@Index('ix_webhooks_tenant', ['tenantId', 'id'])
export class Webhook {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text', default: 'signed' }) kind: WebhookKind;
  /** The receiver (signed) or the Slack incoming-webhook URL; null for email. */
  @Column({ type: 'text', nullable: true }) url: string | null;
  /** Recipients of an email webhook; null for the other kinds. */
  @Column({ type: 'text', name: 'email_to', array: true, nullable: true }) emailTo: string[] | null;
  @Column({ type: 'text', array: true }) events: WebhookEventType[];
  @Column({ type: 'integer', name: 'threshold_pct', default: 80 }) thresholdPct: number;
  /** HMAC secret sealed under the tenant's data key (AAD = tenant id + webhook id) */
  @Column({ type: 'bytea', name: 'secret_sealed' }) secretSealed: Buffer;
  @Column({ type: 'integer', name: 'data_key_version' }) dataKeyVersion: number;
  @CreatedAt() createdAt: Date;
  @Column({ type: 'timestamptz', name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}
