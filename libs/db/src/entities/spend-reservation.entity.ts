import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, MicrosColumn, RefColumn } from './columns';

/**
 * Money a proxy instance holds against a key's daily cap (a lease or one call's worst case).
 * Recorded so that a restarted instance can reconcile what a crash left behind.
 */
@Entity('spend_reservations')
@Index('ix_spend_reservations_instance', ['instanceId'])
export class SpendReservation {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'vault_key_id' }) vaultKeyId: string;
  @Column({ type: 'date' }) day: string;
  @Column({ type: 'text', name: 'instance_id' }) instanceId: string;
  @MicrosColumn({ name: 'amount_micros', default: undefined }) amountMicros: bigint;
  @CreatedAt() createdAt: Date;
}
