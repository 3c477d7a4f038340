import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { sha256Hex, verifySecret } from '@keyvault/crypto';
import { type ApiKeyScope, preparedQuery } from '@keyvault/db';
import { apiKeyIdOf } from './api-key-token';

export interface VerifiedApiKey {
  apiKeyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
}

const MAX_CACHED = 10_000;

/**
 * Verifies `kv_live_...` tokens. argon2id costs tens of milliseconds, and a backend calls once
 * per chat, so a token that verified once is remembered (by its SHA-256, never in clear).
 * Every request still reads the key's row by primary key: a deleted key fails on its very next
 * use, on every api instance, and scope changes apply at once.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly verified = new Map<string, string>(); // sha256(token) -> argon2 hash it matched

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async verify(token: string): Promise<VerifiedApiKey | null> {
    const id = apiKeyIdOf(token);
    if (!id) return null;
    const rows = await preparedQuery<{ tenant_id: string; scopes: ApiKeyScope[]; secret_hash: string }>(
      this.db,
      'kv_api_key_by_id',
      'SELECT tenant_id, scopes, secret_hash FROM tenant_api_keys WHERE id = $1',
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    const digest = sha256Hex(token);
    if (this.verified.get(digest) !== row.secret_hash) {
      if (!(await verifySecret(row.secret_hash, token))) return null;
      if (this.verified.size >= MAX_CACHED) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(digest, row.secret_hash);
    }
    return { apiKeyId: id, tenantId: row.tenant_id, scopes: row.scopes };
  }
}
