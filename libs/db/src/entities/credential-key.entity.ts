import { Column, Entity, Index } from 'typeorm';
import { CreatedAt, IdColumn, RefColumn } from './columns';

export type CredentialKeyStatus = 'active' | 'retired';

/** One real provider key inside a profile, sealed under the tenant's data key. */
@Entity('credential_keys')
@Index('ix_credential_keys_credential', ['credentialId', 'position'])
export class CredentialKey {
  @IdColumn() id: string;
  @RefColumn({ name: 'tenant_id' }) tenantId: string;
  @RefColumn({ name: 'credential_id' }) credentialId: string;
  /** nonce | ciphertext | tag, AAD = tenant id + key id */
  @Column({ type: 'bytea' }) sealed: Buffer;
  @Column({ type: 'integer', name: 'data_key_version' }) dataKeyVersion: number;
  @Column({ type: 'text' }) last4: string;
  @Column({ type: 'text', default: 'active' }) status: CredentialKeyStatus;
  /** Order within the profile: failover tries lower positions first. */
  @Column({ type: 'integer' }) position: number;
  /** null: a shared key; else only vault keys naming this key_group use it (one user's or one team's own key) */
  @Column({ type: 'text', name: 'key_group', nullable: true }) group: string | null;
  @CreatedAt() createdAt: Date;
  @Column({ type: 'timestamptz', name: 'retired_at', nullable: true }) retiredAt: Date | null;
}
