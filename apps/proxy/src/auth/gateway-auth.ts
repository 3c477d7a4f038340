import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { gatewayKeyIdOf, sha256Hex, verifySecret } from '@keyvault/crypto';
import { CHANNELS, type GatewayKeysNotice } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { ProxyStore } from '../store/proxy-store';
import { bindGatewayCall } from './gateway-binding';
import { GatewayCheck, GatewayCheckCall } from './gateway-check';

/** What a gateway-key call offers to bind: its headers, and its body (read once, replaceable). */
export interface GatewayCall {
  /** the request path as sent (the credentials check is recognised by it) */
  path: string;
  headers: IncomingHttpHeaders;
  readBody(): Promise<Buffer>;
  replaceBody(body: Buffer): void;
}

/** A notice can be missed (a dropped connection); no cached verdict outlives this. */
const VERDICT_TTL_MS = 5_000;
const MAX_CACHED = 10_000;

interface Verdict {
  gatewayKeyId: string;
  tenantId: string;
  secretHash: string;
  checkedAt: number;
}

const invalidGatewayKey = (why = 'Invalid gateway key provided.') => new KeyvaultError('invalid_vault_key', why);

/**
 * Gateway keys (`kv_gw_...`): one long-lived key per tenant that a tool holding a single API
 * key (Dify's model provider) sends on every call, each call naming the vault key it is for.
 * argon2id runs once per token: a verified token is remembered by its SHA-256 (never in
 * clear), trusted for a few seconds while LISTEN is up, then re-read by primary key and
 * compared by hash alone. A revocation's NOTIFY drops it at once on every instance.
 */
@Injectable()
export class GatewayAuth {
  private readonly verdicts = new Map<string, Verdict>();
  private readonly verifying = new Map<string, Promise<Verdict | null>>();
  private generation = 0;

  constructor(private readonly store: ProxyStore) {
    store.onNotice(CHANNELS.gatewayKeys, (payload) => this.invalidate(payload));
    store.onListenerChange(() => this.flush());
  }

  static presents(token: string): boolean {
    return token.startsWith('kv_gw_');
  }

  /**
   * The tenant of a valid gateway key and the vault key id the call names (its body rewritten
   * when the binding came from the prompt). The caller then admits that vault key as if it had
   * been presented itself, within the gateway key's tenant.
   */
  async bind(token: string, call: GatewayCall): Promise<{ tenantId: string; vaultKeyId: string }> {
    const verdict = await this.verify(token);
    if (!verdict) throw invalidGatewayKey();
    const body = await call.readBody();
    const binding = bindGatewayCall(call.headers, body);
    if (binding.rewrittenBody) call.replaceBody(binding.rewrittenBody);
    if (!binding.vaultKeyId) {
      const check = GatewayCheck.of(call.path, body);
      if (check) throw new GatewayCheckCall(check, verdict.tenantId);
      throw new KeyvaultError(
        'vault_key_required',
        "A gateway key acts only for one of its tenant's vault keys: name it with the X-Vault-Key-Id header, the body's user, or a first system-prompt line X-Vault-Key-Id: vk_...",
      );
    }
    return { tenantId: verdict.tenantId, vaultKeyId: binding.vaultKeyId };
  }

  private async verify(token: string): Promise<Verdict | null> {
    const id = gatewayKeyIdOf(token);
    if (!id) return null;
    const digest = sha256Hex(token);
    const known = this.verdicts.get(digest);
    if (known && this.store.listening && Date.now() - known.checkedAt < VERDICT_TTL_MS) return known;
    let pending = this.verifying.get(digest);
    if (!pending) {
      const generation = this.generation;
      pending = this.readAndVerify(id, token, known)
        .then((verdict) => {
          this.verdicts.delete(digest);
          if (verdict && generation === this.generation && this.store.listening) {
            if (this.verdicts.size >= MAX_CACHED) this.verdicts.delete(this.verdicts.keys().next().value!);
            this.verdicts.set(digest, verdict);
          }
          return verdict;
        })
        .finally(() => {
          if (this.verifying.get(digest) === pending) this.verifying.delete(digest);
        });
      this.verifying.set(digest, pending);
    }
    return pending;
  }

  /** Reads the row by primary key; argon2 only when the token was not verified against that very hash. */
  private async readAndVerify(id: string, token: string, known: Verdict | undefined): Promise<Verdict | null> {
    const [row] = await this.store.query<{ tenant_id: string; secret_hash: string; revoked_at: Date | null }>(
      'gateway_key',
      'SELECT tenant_id, secret_hash, revoked_at FROM gateway_keys WHERE id = $1',
      [id],
    );
    if (!row || row.revoked_at !== null) return null;
    if (known?.secretHash !== row.secret_hash && !(await verifySecret(row.secret_hash, token))) return null;
    return { gatewayKeyId: id, tenantId: row.tenant_id, secretHash: row.secret_hash, checkedAt: Date.now() };
  }

  private invalidate(payload: string): void {
    this.generation++;
    let notice: GatewayKeysNotice;
    try {
      notice = JSON.parse(payload) as GatewayKeysNotice;
    } catch {
      return this.flush();
    }
    if (!Array.isArray(notice.gateway_key_ids)) return this.flush();
    const revoked = new Set(notice.gateway_key_ids);
    for (const [digest, v] of this.verdicts) if (revoked.has(v.gatewayKeyId)) this.verdicts.delete(digest);
    this.verifying.clear();
  }

  private flush(): void {
    this.generation++;
    this.verdicts.clear();
    this.verifying.clear();
  }
}
