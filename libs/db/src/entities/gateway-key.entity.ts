import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

/**
 * A tenant's long-lived gateway key (`kv_gw_...`), pasted once into a tool that can hold only
 * one API key (Dify's model provider). On its own it can do nothing: every call made with it
 * names one of the tenant's vault keys, whose policy then applies.
 */
@Entity('gateway_keys')
@Index('ix_gateway_keys_tenant', ['tenantId', 'id'])
export class GatewayKey {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text' }) name: string;
  /** argon2id hash of the whole token; the token itself is never stored. */
  @Column({ type: 'text', name: 'secret_hash' }) secretHash: string;
  @Column({ type: 'text' }) last4: string;
  @CreatedAt() createdAt: Date;
  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true }) revokedAt: Date | null;
}
