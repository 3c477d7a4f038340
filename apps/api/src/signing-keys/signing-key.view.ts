import { ApiProperty } from '@nestjs/swagger';
import type { SigningKey } from '@keyvault/db';

/** A vault-key signing key as operators see it: never its private half. */
export class SigningKeyView {
  @ApiProperty({ example: 'sig_01jd8x0000000000000000000', description: 'The kid in vault-key token headers' }) id: string;
  @ApiProperty({ enum: ['signing_key'] }) object: 'signing_key';
  @ApiProperty({ example: 'sig_01jd8x0000000000000000000' }) kid: string;
  @ApiProperty({ example: 'EdDSA' }) algorithm: string;
  @ApiProperty({ enum: ['active', 'retired'], description: 'Retired keys still verify the tokens they signed until those expire.' })
  status: string;
  @ApiProperty({ description: 'Ed25519 public key, SPKI PEM' }) public_key: string;
  @ApiProperty() created_at: string;

  static of(k: SigningKey): SigningKeyView {
    return {
      id: k.id,
      object: 'signing_key',
      kid: k.id,
      algorithm: k.algorithm,
      status: k.status,
      public_key: k.publicKeyPem,
      created_at: k.createdAt.toISOString(),
    };
  }
}
