import { Column, Entity, Index, UpdateDateColumn } from 'typeorm';
import { CreatedAt, IdColumn, NanosColumn } from './columns';

export type TenantStatus = 'active' | 'disabled';

@Entity('tenants')
export class Tenant {
  @IdColumn() id: string;
  @Column({ type: 'text' }) name: string;
  @Index('uq_tenants_slug', { unique: true })
  @Column({ type: 'text' })
  slug: string;
  @Column({ type: 'integer', name: 'max_vault_key_ttl_seconds' }) maxVaultKeyTtlSeconds: number;
  @Column({ type: 'text', default: 'active' }) status: TenantStatus;
  /** The tenant's 256-bit data key, sealed under a master key (see libs/crypto envelope). */
  @Column({ type: 'bytea', name: 'data_key_wrapped' }) dataKeyWrapped: Buffer;
  @Column({ type: 'text', name: 'data_key_master_key_id' }) dataKeyMasterKeyId: string;
  @Column({ type: 'integer', name: 'data_key_version', default: 1 }) dataKeyVersion: number;
  /** budget above the keys (issue 19): the tenant's calendar month (UTC); null: none */
  @NanosColumn({ name: 'monthly_cap_nanos', nullable: true, default: undefined }) monthlyCapNanos: bigint | null;
  @CreatedAt() createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
}
