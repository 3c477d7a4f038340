import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { NanosColumn, RefColumn } from './columns';

/**
 * One vault key's spend for one UTC day: the ledger the cap is enforced on.
 * `reserved_nanos` is money held for calls in flight (or leased to a proxy instance); a call
 * that never finished leaves its reservation counted, never silently dropped.
 */
@Entity('vault_key_spend')
export class VaultKeySpend {
  @PrimaryColumn({ type: 'text', collation: 'C', name: 'vault_key_id' }) vaultKeyId: string;
  @PrimaryColumn({ type: 'date' }) day: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @NanosColumn({ name: 'spent_nanos' }) spentNanos: bigint;
  @NanosColumn({ name: 'reserved_nanos' }) reservedNanos: bigint;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
}
