import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

export const API_KEY_SCOPES = [
  'vault_keys:issue',
  'vault_keys:read',
  'vault_keys:revoke',
  'credentials:read',
  'credentials:write',
  'audit:read',
  'webhooks:write',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

@Entity('tenant_api_keys')
@Index('ix_tenant_api_keys_tenant', ['tenantId', 'id'])
export class TenantApiKey {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text' }) name: string;
  @Column({ type: 'text', array: true }) scopes: ApiKeyScope[];
  /** argon2id hash of the whole `kv_live_...` token; the token itself is never stored. */
  @Column({ type: 'text', name: 'secret_hash' }) secretHash: string;
  @CreatedAt() createdAt: Date;
  @Column({ type: 'timestamptz', name: 'last_used_at', nullable: true }) lastUsedAt: Date | null;
}
