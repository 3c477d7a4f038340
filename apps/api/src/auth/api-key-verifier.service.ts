import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { sha256Hex, verifySecret } from '@keyvault/crypto';
import { type ApiKeyScope, scopedStatements } from '@keyvault/db';
import { apiKeyIdOf } from './api-key-token';

export interface VerifiedApiKey {
  apiKeyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
}

interface Remembered extends VerifiedApiKey {
  secretHash: string;
}

const MAX_CACHED = 10_000;

/**
 * Verifies `kv_live_...` tokens. argon2id costs tens of milliseconds, and a backend calls once
 * per chat, so a token that verified once is remembered (by its SHA-256, never in clear) with
 * what its row said. A key's row never changes (scopes are fixed at creation), it only
 * disappears when the key or its tenant is deleted; so each request must still learn whether
 * the row exists. `verify` reads it by primary key. `verifyRemembered` skips that read and is
 * only for routes whose own statement checks the row in the same round trip (see
 * @ApiKeyConfirmedByHandler): a deleted key fails on its very next use either way, on every
 * api instance.
 */
@Injectable()
export class ApiKeyVerifier {
  private readonly remembered = new Map<string, Remembered>(); // sha256(token) -> what it verified as

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  verify(token: string): Promise<VerifiedApiKey | null> {
    return this.readAndVerify(token, sha256Hex(token));
  }

  /** As `verify`, without reading the row when the token verified before: the caller checks it. */
  async verifyRemembered(token: string): Promise<VerifiedApiKey | null> {
    const digest = sha256Hex(token);
    const known = this.remembered.get(digest);
    if (!known) return this.readAndVerify(token, digest);
    return { apiKeyId: known.apiKeyId, tenantId: known.tenantId, scopes: known.scopes };
  }

  /** Drops what was remembered for a key its caller found deleted. */
  forget(apiKeyId: string): void {
    for (const [digest, known] of this.remembered) if (known.apiKeyId === apiKeyId) this.remembered.delete(digest);
  }

  /** Reads the key's row; argon2 only when the token is not remembered against that very hash. */
  private async readAndVerify(token: string, digest: string): Promise<VerifiedApiKey | null> {
    const id = apiKeyIdOf(token);
    if (!id) return null;
    // the caller's tenant is what this read learns: it runs across tenants, by the key's id only
    const [rows] = await scopedStatements<{ tenant_id: string; scopes: ApiKeyScope[]; secret_hash: string }>(this.db, 'api key lookup', [
      { name: 'kv_api_key_by_id', text: 'SELECT tenant_id, scopes, secret_hash FROM tenant_api_keys WHERE id = $1', values: [id] },
    ]);
    const row = rows[0];
    if (!row) {
      this.remembered.delete(digest);
      return null;
    }
    if (this.remembered.get(digest)?.secretHash !== row.secret_hash) {
      if (!(await verifySecret(row.secret_hash, token))) return null;
      this.remember(digest, { apiKeyId: id, tenantId: row.tenant_id, scopes: row.scopes, secretHash: row.secret_hash });
    }
    return { apiKeyId: id, tenantId: row.tenant_id, scopes: row.scopes };
  }

  private remember(digest: string, entry: Remembered): void {
    this.remembered.delete(digest);
    if (this.remembered.size >= MAX_CACHED) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(digest, entry);
  }
}
