import { Column, Entity, Index, UpdateDateColumn } from 'typeorm';
import { CreatedAt, IdColumn, NanosColumn, RefColumn } from './columns';

export type CredentialStrategy = 'round_robin' | 'failover';

@Entity('credential_profiles')
@Index('uq_credential_profiles_name', ['tenantId', 'name'], { unique: true, where: 'deleted_at IS NULL' })
@Index('uq_credential_profiles_default', ['tenantId', 'vendor'], { unique: true, where: 'is_default AND deleted_at IS NULL' })
export class CredentialProfile {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'text' }) name: string;
  @Column({ type: 'text' }) vendor: string;
  @Column({ type: 'text', default: 'round_robin' }) strategy: CredentialStrategy;
  @Column({ type: 'text', name: 'base_url', nullable: true }) baseUrl: string | null;
  @Column({ type: 'boolean', name: 'is_default', default: false }) isDefault: boolean;
  // budgets above the key (issue 19): the profile's UTC day and calendar month (UTC); null: none
  @NanosColumn({ name: 'daily_cap_nanos', nullable: true, default: undefined }) dailyCapNanos: bigint | null;
  @NanosColumn({ name: 'monthly_cap_nanos', nullable: true, default: undefined }) monthlyCapNanos: bigint | null;
  @CreatedAt() createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
  /** Profiles are soft-deleted so audit rows and vault keys keep a name to point at. */
  @Column({ type: 'timestamptz', name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}
