import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The first money-moving call of a vault key with a given fingerprint (method, path and
 * canonical body), while its duplicate_window lasts (issue 19): every proxy instance reads and
 * claims it in one statement, so a duplicate is caught whichever instance it reaches.
 * `idempotency_key` is what went to Stripe with the first call (the caller's own, or one the
 * proxy derived), sent again with each duplicate so Stripe answers the first object.
 */
@Entity('duplicate_calls')
@Index('ix_duplicate_calls_expires', ['expiresAt'])
export class DuplicateCall {
  @PrimaryColumn({ type: 'text', collation: 'C', name: 'vault_key_id' }) vaultKeyId: string;
  @PrimaryColumn({ type: 'text' }) fingerprint: string;
  @Column({ type: 'text', collation: 'C', name: 'audit_id' }) auditId: string;
  @Column({ type: 'text', name: 'idempotency_key', nullable: true }) idempotencyKey: string | null;
  @Column({ type: 'timestamptz', name: 'expires_at' }) expiresAt: Date;
}
