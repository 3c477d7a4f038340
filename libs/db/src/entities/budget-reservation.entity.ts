import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, NanosColumn, RefColumn } from './columns';

/**
 * A proxy instance's budget lease on one budget_spend row (issue 19): what spend_reservations
 * is to vault_key_spend, with the same columns and rules (see apps/proxy/src/ledger). The calls
 * that drew on it name it in audit_log.budget_lease_ids, so a dead holder's lease is settled
 * from their rows.
 */
@Entity('budget_reservations')
@Index('ix_budget_reservations_instance', ['instanceId'])
@Index('ix_budget_reservations_expires', ['expiresAt'])
export class BudgetReservation {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'subject_id' }) subjectId: string;
  @RefColumn() period: string;
  @Column({ type: 'text', name: 'instance_id' }) instanceId: string;
  @NanosColumn({ name: 'amount_nanos', default: undefined }) amountNanos: bigint;
  @Column({ type: 'timestamptz', name: 'expires_at', default: () => 'now()' }) expiresAt: Date;
  @Column({ type: 'integer', name: 'grow_seq', default: 0 }) growSeq: number;
  @Column({ type: 'integer', name: 'settle_seq', default: 0 }) settleSeq: number;
  @NanosColumn({ name: 'last_granted_nanos' }) lastGrantedNanos: bigint;
  @NanosColumn({ name: 'booked_nanos' }) bookedNanos: bigint;
  @CreatedAt() createdAt: Date;
}
