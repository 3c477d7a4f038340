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
  /** the sequence numbers of the last grow and settle statements applied: a retried one is applied once */
  @Column({ type: 'integer', name: 'grow_seq', default: 0 }) growSeq: number;
  @Column({ type: 'integer', name: 'settle_seq', default: 0 }) settleSeq: number;
  /** what the last grow granted, answered again to a retry of it */
  @NanosColumn({ name: 'last_granted_nanos' }) lastGrantedNanos: bigint;
  /** what settling booked as spent from this lease: a reconciliation adds only what its calls' rows exceed it by */
  @NanosColumn({ name: 'booked_nanos' }) bookedNanos: bigint;
  @CreatedAt() createdAt: Date;
}
