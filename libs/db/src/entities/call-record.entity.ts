import { Column, Entity, PrimaryColumn } from 'typeorm';
import { NanosColumn, RefColumn } from './columns';

/**
 * A call in flight: written (group commit) before the proxy forwards the call, removed by the
 * same statement that writes the call's audit row once its outcome is known. A dead instance's
 * leases are settled from these rows (each still here is a forwarded call whose outcome is
 * unknown: booked at its worst case and given an `interrupted` audit row) and from the audit
 * rows of the calls that finished.
 *
 * Its own narrow table, not an in-flight row of audit_log completed by an UPDATE: that UPDATE
 * could never be HOT (audit_log's status index) and rewrote all eight of its indexes for every
 * call; here a call costs one primary-key entry, inserted and deleted. No other index: the table
 * holds only the calls in flight, and the lease reconciliation that scans it is rare.
 */
@Entity('call_records')
export class CallRecord {
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'PK_call_records' }) id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'vault_key_id' }) vaultKeyId: string;
  @RefColumn({ name: 'credential_id', nullable: true }) credentialId: string | null;
  @Column({ type: 'text' }) vendor: string;
  @Column({ type: 'text' }) method: string;
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'text', name: 'run_id', nullable: true }) runId: string | null;
  @Column({ type: 'text', name: 'conversation_id', nullable: true }) conversationId: string | null;
  /** the key-day lease the call drew on */
  @RefColumn({ name: 'lease_id', nullable: true }) leaseId: string | null;
  /** the leases it drew on above its key's day */
  @Column({ type: 'text', name: 'budget_lease_ids', array: true, nullable: true }) budgetLeaseIds: string[] | null;
  /** its worst case: what it is booked at if its outcome is never known */
  @NanosColumn({ name: 'reserved_nanos', default: undefined }) reservedNanos: bigint;
  /** when the call started: its audit row's created_at (the audit table's partition key) */
  @Column({ type: 'timestamptz', name: 'created_at' }) createdAt: Date;
}
