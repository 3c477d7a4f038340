import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CreatedAt } from './columns';

/** The first answer to a create call, replayed for the same Idempotency-Key and body. */
@Entity('idempotency_records')
export class IdempotencyRecord {
  /** `admin` or the tenant id whose caller sent the key, so keys never collide across tenants. */
  @PrimaryColumn({ type: 'text', collation: 'C' }) scope: string;
  @PrimaryColumn({ type: 'text', name: 'idempotency_key' }) idempotencyKey: string;
  @Column({ type: 'text', name: 'request_hash' }) requestHash: string;
  /** null while the first request is still running */
  @Column({ type: 'integer', name: 'status_code', nullable: true }) statusCode: number | null;
  /** The first response, sealed under the master key: it may hold a secret shown once. */
  @Column({ type: 'bytea', name: 'response_sealed', nullable: true }) responseSealed: Buffer | null;
  @Column({ type: 'text', name: 'master_key_id', nullable: true }) masterKeyId: string | null;
  @CreatedAt() createdAt: Date;
}
