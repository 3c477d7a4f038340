import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { NanosColumn, RefColumn } from './columns';

/**
 * One proxied call, refused ones included. Ids are time-ordered, so `(tenant_id, id DESC)`
 * serves newest-first paging and `from`/`to` become id ranges.
 *
 * Partitioned by UTC day of `created_at` (migration AuditPartitions, by hand: TypeORM does not
 * model partitions), so retention drops a day whole; the primary key holds the partition key,
 * so a lookup by id alone should also bound `created_at` (see audit-partitions.ts).
 */
@Entity('audit_log')
@Index('ix_audit_tenant', ['tenantId', 'id'])
@Index('ix_audit_vault_key', ['tenantId', 'vaultKeyId', 'id'])
@Index('ix_audit_run', ['tenantId', 'runId', 'id'], { where: 'run_id IS NOT NULL' })
@Index('ix_audit_conversation', ['tenantId', 'conversationId', 'id'], { where: 'conversation_id IS NOT NULL' })
/** `status=404` or `status=5xx` on a large tenant: without it, a rare status is a scan of every row (docs/audit-query-plans.md). */
@Index('ix_audit_status', ['tenantId', 'status', 'id'])
/** a dead instance's lease is settled from the rows of its calls (apps/proxy/src/ledger) */
@Index('ix_audit_lease', ['leaseId'], { where: 'lease_id IS NOT NULL' })
export class AuditEntry {
  @PrimaryColumn({ type: 'text', collation: 'C', primaryKeyConstraintName: 'PK_audit_log' }) id: string;
  /** null only when the caller could not be tied to a tenant (a forged key) */
  @RefColumn({ name: 'tenant_id', nullable: true }) tenantId: string | null;
  @RefColumn({ name: 'vault_key_id', nullable: true }) vaultKeyId: string | null;
  @RefColumn({ name: 'credential_id', nullable: true }) credentialId: string | null;
  @RefColumn({ name: 'provider_key_id', nullable: true }) providerKeyId: string | null;
  @Column({ type: 'text' }) vendor: string;
  @Column({ type: 'text' }) method: string;
  /** the vendor path, without query string */
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'integer' }) status: number;
  /** the refusal's error code, when Keyvault refused the call */
  @Column({ type: 'text', name: 'error_code', nullable: true }) errorCode: string | null;
  @NanosColumn({ name: 'cost_nanos' }) costNanos: bigint;
  @Column({ type: 'integer', name: 'duration_ms' }) durationMs: number;
  @Column({ type: 'text', name: 'run_id', nullable: true }) runId: string | null;
  @Column({ type: 'text', name: 'conversation_id', nullable: true }) conversationId: string | null;
  /** the budget lease a paid call drew on (written before the call was forwarded) */
  @RefColumn({ name: 'lease_id', nullable: true }) leaseId: string | null;
  /** the leases it drew on above its key's day (issue 19: lifetime, profile, tenant budgets) */
  @Index('ix_audit_budget_leases', { synchronize: false })
  @Column({ type: 'text', name: 'budget_lease_ids', array: true, nullable: true }) budgetLeaseIds: string[] | null;
  /** the worst case the call reserved: what it is settled at when its outcome is never known */
  @NanosColumn({ name: 'reserved_nanos', nullable: true, default: undefined }) reservedNanos: bigint | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at', primary: true, primaryKeyConstraintName: 'PK_audit_log' }) createdAt: Date;
}
