import { Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { NanosColumn, RefColumn } from './columns';

/**
 * Spend of one budget above a vault key's day (issue 19), for one period: a key's life
 * (`vk_...`, period `total`), a credential profile's UTC day (`cred_...`, `YYYY-MM-DD`) or
 * calendar month (`cred_...`, `YYYY-MM`), a tenant's calendar month (`ten_...`, `YYYY-MM`).
 * The same ledger as vault_key_spend: `spent + reserved` never passes the level's cap.
 */
@Entity('budget_spend')
export class BudgetSpend {
  @PrimaryColumn({ type: 'text', collation: 'C', name: 'subject_id' }) subjectId: string;
  @PrimaryColumn({ type: 'text', collation: 'C' }) period: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @NanosColumn({ name: 'spent_nanos' }) spentNanos: bigint;
  @NanosColumn({ name: 'reserved_nanos' }) reservedNanos: bigint;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
}
