import { Column, Entity } from 'typeorm';
import { CreatedAt, IdColumn } from './columns';

/** Keys that sign vault-key tokens. The proxy reads only `public_key_pem`. */
@Entity('signing_keys')
export class SigningKey {
  /** the JWS `kid` */
  @IdColumn() id: string;
  @Column({ type: 'text' }) algorithm: string;
  @Column({ type: 'text', name: 'public_key_pem' }) publicKeyPem: string;
  /** PKCS#8 DER sealed under the master key (AAD = kid) */
  @Column({ type: 'bytea', name: 'private_key_sealed' }) privateKeySealed: Buffer;
  @Column({ type: 'text', name: 'master_key_id' }) masterKeyId: string;
  @Column({ type: 'text', default: 'active' }) status: 'active' | 'retired';
  @CreatedAt() createdAt: Date;
}
