import { ApiProperty } from '@nestjs/swagger';
import { nanosToUsd } from '@keyvault/policy';
import type { AuditRow } from './audit-query';

/** One audit row as the contract shows it (GET /audit and every export line). */
export class AuditEntryView {
  @ApiProperty({ example: 'aud_01jd8x0000000000000000000' }) id: string;
  @ApiProperty({ enum: ['audit_entry'] }) object: 'audit_entry';
  @ApiProperty({ nullable: true, type: String }) vault_key_id: string | null;
  @ApiProperty() vendor: string;
  @ApiProperty() method: string;
  @ApiProperty({ description: 'The vendor path, without query string' }) path: string;
  @ApiProperty({ description: 'HTTP status returned to the caller' }) status: number;
  @ApiProperty({ nullable: true, type: String, description: "Keyvault's error code when it refused the call" }) error_code: string | null;
  @ApiProperty({ description: 'What the call cost, USD: exactly its usage times its price (up to 9 decimals)' }) cost_usd: number;
  @ApiProperty() duration_ms: number;
  @ApiProperty({ nullable: true, type: String }) run_id: string | null;
  @ApiProperty({ nullable: true, type: String }) conversation_id: string | null;
  @ApiProperty({ nullable: true, type: String }) provider_key_id: string | null;
  @ApiProperty({ nullable: true, type: String }) credential_id: string | null;
  @ApiProperty() created_at: string;

  static of(r: AuditRow): AuditEntryView {
    return {
      id: r.id,
      object: 'audit_entry',
      vault_key_id: r.vault_key_id,
      vendor: r.vendor,
      method: r.method,
      path: r.path,
      status: r.status,
      error_code: r.error_code,
      cost_usd: nanosToUsd(r.cost_nanos),
      duration_ms: r.duration_ms,
      run_id: r.run_id,
      conversation_id: r.conversation_id,
      provider_key_id: r.provider_key_id,
      credential_id: r.credential_id,
      created_at: r.created_at.toISOString(),
    };
  }
}

/** GET /audit/{id}: the entry and, when its key had `capture` set, what the call sent and received (redacted). */
export class AuditEntryDetailView extends AuditEntryView {
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description:
      '{level, request: {headers, body?}, response: {status, headers, body?, stream?} | null}; bodies are {text, encoding, bytes, truncated}; stream is {text, usage, events} for SSE. Credentials are redacted before storage.',
  })
  capture: unknown;
}
