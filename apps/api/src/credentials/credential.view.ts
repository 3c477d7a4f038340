import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { VENDORS } from '@keyvault/config';
import { iso } from '../common/iso';
import type { CredentialKeySummary, CredentialWithKeys } from './credentials.service';
import { STRATEGIES } from './dto/create-credential.dto';

/** A provider key as the api shows it: never the key, only its last 4 characters. */
export class CredentialKeyView {
  @ApiProperty({ example: 'ck_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ example: 'x7Qa', description: 'The last 4 characters of the key' }) last4: string;
  @ApiProperty({ enum: ['active', 'retired'] }) status: string;
  @ApiProperty() created_at: string;
  @ApiPropertyOptional({ nullable: true, type: String }) retired_at: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'team-a', description: 'null: a shared key; else only vault keys naming this key_group use it' })
  group: string | null;

  static of(k: CredentialKeySummary): CredentialKeyView {
    return { id: k.id, last4: k.last4, status: k.status, created_at: k.createdAt.toISOString(), retired_at: iso(k.retiredAt), group: k.group };
  }
}

export class CredentialView {
  @ApiProperty({ example: 'cred_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['credential'] }) object: 'credential';
  @ApiProperty({ example: 'client_a_openai' }) name: string;
  @ApiProperty({ enum: VENDORS }) vendor: string;
  @ApiProperty({ enum: STRATEGIES }) strategy: string;
  @ApiPropertyOptional({ nullable: true, type: String }) base_url: string | null;
  @ApiProperty() default: boolean;
  @ApiProperty({ type: [CredentialKeyView], description: 'In failover order; retired keys stay listed as retired.' }) keys: CredentialKeyView[];
  @ApiProperty() created_at: string;
  @ApiProperty() updated_at: string;

  static of({ profile: p, keys }: CredentialWithKeys): CredentialView {
    return {
      id: p.id,
      object: 'credential',
      name: p.name,
      vendor: p.vendor,
      strategy: p.strategy,
      base_url: p.baseUrl,
      default: p.isDefault,
      keys: keys.map(CredentialKeyView.of),
      created_at: p.createdAt.toISOString(),
      updated_at: p.updatedAt.toISOString(),
    };
  }
}

export class DeletedCredentialView {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['credential'] }) object: 'credential';
  @ApiProperty({ enum: [true] }) deleted: true;
  @ApiProperty({ description: 'How many active vault keys were revoked with it' }) revoked_vault_keys: number;
}
