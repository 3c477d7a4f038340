import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, NanosColumn, RefColumn } from './columns';

/** What the proxy keeps of a key's calls beyond the audit row (issue 21): sealed, redacted. */
export const CAPTURE_LEVELS = ['none', 'metadata', 'bodies'] as const;
export type CaptureLevel = (typeof CAPTURE_LEVELS)[number];

/** A vault key's record. The token itself is never stored: only its id is. */
@Entity('vault_keys')
@Index('ix_vault_keys_tenant', ['tenantId', 'id'])
@Index('ix_vault_keys_label', ['tenantId', 'label'])
@Index('ix_vault_keys_credential', ['credentialId'])
export class VaultKey {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'credential_id' }) credentialId: string;
  @Column({ type: 'text' }) vendor: string;
  /** null when the key has only a lifetime cap (one of the two is required) */
  @NanosColumn({ name: 'daily_cap_nanos', nullable: true, default: undefined }) dailyCapNanos: bigint | null;
  /** spend over the key's whole life (issue 19), beside the daily cap; null: none */
  @NanosColumn({ name: 'total_cap_nanos', nullable: true, default: undefined }) totalCapNanos: bigint | null;
  // guardrails (issue 19)
  @NanosColumn({ name: 'max_call_nanos', nullable: true, default: undefined }) maxCallNanos: bigint | null;
  @Column({ type: 'text', name: 'allowed_models', array: true, nullable: true }) allowedModels: string[] | null;
  @Column({ type: 'int', name: 'duplicate_window_seconds', default: 0 }) duplicateWindowSeconds: number;
  @Column({ type: 'int', name: 'max_calls_per_minute', nullable: true }) maxCallsPerMinute: number | null;
  @Column({ type: 'int', name: 'max_tokens_per_minute', nullable: true }) maxTokensPerMinute: number | null;
  @Column({ type: 'text', name: 'allowed_endpoints', array: true }) allowedEndpoints: string[];
  // issue 22: header allowlist
  @Column({ type: 'text', name: 'allowed_headers', array: true, default: () => "'{}'" }) allowedHeaders: string[];
  // issue 18: LLM inputs the body's bytes do not bound (images, files, server tools); null: every kind
  @Column({ type: 'text', name: 'allowed_inputs', array: true, nullable: true }) allowedInputs: string[] | null;
  @Column({ type: 'timestamptz', name: 'expires_at' }) expiresAt: Date;
  @Column({ type: 'text', nullable: true }) label: string | null;
  @Index('ix_vault_keys_metadata', { synchronize: false })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, string>;
  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true }) revokedAt: Date | null;
  @Column({ type: 'text', name: 'revoked_reason', nullable: true }) revokedReason: string | null;
  // key groups (issue 20): which of the profile's provider keys this key's calls may use
  /** null: the profile's shared keys (those without a group) */
  @Column({ type: 'text', name: 'key_group', nullable: true }) keyGroup: string | null;
  /** with key_group: use the shared keys once the group's keys are all cooling down */
  @Column({ type: 'boolean', name: 'fallback_to_shared', default: false }) fallbackToShared: boolean;
  @CreatedAt() createdAt: Date;
  // capture (issue 21)
  @Column({ type: 'text', default: 'none' }) capture: CaptureLevel;
}
