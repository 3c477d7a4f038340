import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, NanosColumn, RefColumn } from './columns';

/**
 * Money a proxy instance holds against a key's daily cap: its budget lease on that key for that
 * day (see apps/proxy/src/ledger). `amount_nanos` is part of vault_key_spend.reserved_nanos
 * until the holder settles or returns it. The holder renews `expires_at` while it lives; a lease
 * past it (or one left by an instance restarting under the same id) is reconciled by any
 * instance as fully spent, since a dead holder may have spent all of it.
 */
@Entity('spend_reservations')
@Index('ix_spend_reservations_instance', ['instanceId'])
@Index('ix_spend_reservations_expires', ['expiresAt'])
export class SpendReservation {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'vault_key_id' }) vaultKeyId: string;
  @Column({ type: 'date' }) day: string;
  @Column({ type: 'text', name: 'instance_id' }) instanceId: string;
  @NanosColumn({ name: 'amount_nanos', default: undefined }) amountNanos: bigint;
  @Column({ type: 'timestamptz', name: 'expires_at', default: () => 'now()' }) expiresAt: Date;
  @CreatedAt() createdAt: Date;
}
