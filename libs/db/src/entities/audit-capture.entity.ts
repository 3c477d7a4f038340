import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CreatedAt, RefColumn } from './columns';

/**
 * What a proxied call sent and received, for keys with `capture` set: redacted, then sealed under
 * the tenant's data key (AAD: tenant id + audit id). One row per audit row, written after the
 * call ended; readable only through GET /audit/{id}.
 */
@Entity('audit_captures')
export class AuditCapture {
  @PrimaryColumn({ type: 'text', name: 'audit_id', collation: 'C', primaryKeyConstraintName: 'PK_audit_captures' }) auditId: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @Column({ type: 'bytea' }) sealed: Buffer;
  @Column({ type: 'integer', name: 'data_key_version' }) dataKeyVersion: number;
  @CreatedAt() createdAt: Date;
}
