import { Injectable } from '@nestjs/common';
import { verifyVaultKey, type VaultKeyClaims } from '@keyvault/crypto';
import { CHANNELS, type CaptureLevel, type VaultKeysNotice } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { FailedAuthLimiter } from '@keyvault/net';
import { compileEndpointRules, type EndpointRule, type Guardrails, type InputKind } from '@keyvault/policy';
import type { KeyPool } from '../credentials/key-rotation';
import { NO_DAILY_CAP_NANOS } from '../ledger/spend-ledger';
import { ProxyStore } from '../store/proxy-store';
import { GatewayAuth, type GatewayCall } from './gateway-auth';
import { SigningKeys } from './signing-keys';

/** What the proxy needs to know about a vault key to decide a call. */
export interface VaultKeyState {
  id: string;
  tenantId: string;
  credentialId: string;
  vendor: string;
  /** the daily cap the ledger holds the key's day to (NO_DAILY_CAP_NANOS when it has only a lifetime cap) */
  capNanos: bigint;
  /** budgets above its day (issue 19): its lifetime cap, its tenant's monthly cap; null: none */
  totalCapNanos: bigint | null;
  tenantMonthlyCapNanos: bigint | null;
  rules: EndpointRule[];
  /** the key's guardrails (issue 19) */
  guardrails: Guardrails;
  /** header names this key lets through beyond its vendor adapter's allowlist (both directions) */
  allowedHeaders: string[];
  expiresAtMs: number;
  revoked: boolean;
  tenantDisabled: boolean;
  // key groups and gateway keys (issue 20)
  /** which of the profile's provider keys the calls use (see CredentialsService.attemptOrder) */
  keyPool: KeyPool;
  /**
   * the key's metadata `run_id` / `conversation_id`, for audit rows of calls that send no context
   * header (an LLM node behind a gateway key cannot send one)
   */
  runId: string | null;
  conversationId: string | null;
  /** what is kept of its calls beyond the audit row (issue 21) */
  capture: CaptureLevel;
}

/** A notice can be missed (a dropped connection); no cached state outlives this. */
const STATE_TTL_MS = 5_000;
const MAX_CACHED_STATES = 50_000;
const MAX_CACHED_VERDICTS = 20_000;
/** Reads of one key a stream of notices may overtake before the call is refused (503). */
const MAX_OVERTAKEN_READS = 5;

const invalid = () => new KeyvaultError('invalid_vault_key', 'Invalid vault key provided.');

/**
 * Decides who is calling. Signature and expiry are checked with public keys alone, so a
 * malformed, forged, tampered or expired token is refused without touching the database.
 * A valid token's key state (revoked? tenant disabled? allowlist, cap, credential) comes from
 * memory, kept true by LISTEN/NOTIFY and a short TTL, and is never trusted while the LISTEN
 * connection is down.
 */
@Injectable()
export class VaultKeyAuth {
  private readonly verdicts = new Map<string, VaultKeyClaims>();
  private verdictsVersion = 0;
  private readonly states = new Map<string, { state: VaultKeyState | null; loadedAt: number }>();
  private readonly loading = new Map<string, Promise<VaultKeyState | null>>();
  /** bumped on every invalidation, so a load that raced a notice is not cached */
  private generation = 0;

  constructor(
    private readonly store: ProxyStore,
    private readonly signingKeys: SigningKeys,
    private readonly failedAuth: FailedAuthLimiter,
    private readonly gateway: GatewayAuth,
  ) {
    store.onNotice(CHANNELS.vaultKeys, (payload) => this.invalidate(payload));
    store.onListenerChange(() => this.flush());
  }

  /**
   * The key behind a presented token, or a 401/429/503 KeyvaultError. A token that verifies is
   * never refused by the failed-auth limiter, whatever its address did: the limiter is consulted
   * only once a token failed, and past the limit such failures are answered 429, not 401.
   * `call` lets a gateway key (kv_gw_...) name its vault key from the request (see GatewayAuth).
   */
  async authenticate(token: string | null, clientAddress = 'unknown', call?: GatewayCall): Promise<VaultKeyState> {
    try {
      return await this.check(token, call);
    } catch (err) {
      // Only guesses count: an expired or revoked key is a real one, sent by a client to fix.
      if (err instanceof KeyvaultError && err.code === 'invalid_vault_key') {
        const wait = await this.failedAuth.failed(clientAddress);
        if (wait > 0) {
          throw new KeyvaultError('too_many_failed_authentications', 'Too many invalid vault keys from this address.').withHeaders({
            'Retry-After': String(wait),
          });
        }
      }
      throw err;
    }
  }

  private async check(token: string | null, call: GatewayCall | undefined): Promise<VaultKeyState> {
    if (!token) throw new KeyvaultError('invalid_vault_key', 'No vault key provided (Authorization: Bearer, x-api-key or Basic password).');
    if (call && GatewayAuth.presents(token)) {
      const bound = await this.gateway.bind(token, call);
      return this.admit(bound.vaultKeyId, bound.tenantId);
    }
    const claims = await this.verify(token);
    return this.admit(claims.sub, claims.ten);
  }

  /** The key's state when it may be used now, by a caller of `tenantId`; else the contract's 401. */
  private async admit(vaultKeyId: string, tenantId: string): Promise<VaultKeyState> {
    const state = await this.state(vaultKeyId);
    if (!state || state.tenantId !== tenantId) throw invalid();
    if (state.tenantDisabled) throw new KeyvaultError('tenant_disabled', 'This vault key belongs to a disabled tenant.');
    if (state.revoked) throw new KeyvaultError('vault_key_revoked', 'This vault key has been revoked.');
    if (state.expiresAtMs <= Date.now()) throw new KeyvaultError('vault_key_expired', 'This vault key has expired.');
    return state;
  }

  private async verify(token: string): Promise<VaultKeyClaims> {
    // a signing-key notice heard and not yet applied: verify against what it announced
    if (this.signingKeys.pending) await this.signingKeys.pending;
    if (this.verdictsVersion !== this.signingKeys.version) {
      this.verdicts.clear();
      this.verdictsVersion = this.signingKeys.version;
    }
    const nowSeconds = Math.floor(Date.now() / 1000);
    const cached = this.verdicts.get(token);
    if (cached) {
      if (cached.exp > nowSeconds) return cached;
      this.verdicts.delete(token);
      throw new KeyvaultError('vault_key_expired', 'This vault key has expired.');
    }
    let verdict = await verifyVaultKey(token, this.signingKeys.current, nowSeconds);
    if (!verdict.ok && verdict.reason === 'invalid_vault_key' && (await this.signingKeys.refreshForUnknownKid(token))) {
      verdict = await verifyVaultKey(token, this.signingKeys.current, nowSeconds);
    }
    if (!verdict.ok) {
      if (verdict.reason === 'vault_key_expired') throw new KeyvaultError('vault_key_expired', 'This vault key has expired.');
      throw invalid();
    }
    if (this.verdicts.size >= MAX_CACHED_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(token, verdict.claims);
    return verdict.claims;
  }

  /**
   * The key's state, never older than a notice this instance has seen: a read that a notice
   * overtook may have been answered before the change committed, so it is read again (a notice
   * is sent inside the changing transaction and delivered only once it committed).
   */
  private async state(id: string): Promise<VaultKeyState | null> {
    const cached = this.states.get(id);
    if (cached && this.store.listening && Date.now() - cached.loadedAt < STATE_TTL_MS) return cached.state;
    for (let read = 1; ; read++) {
      const generation = this.generation;
      const state = await this.sharedLoad(id);
      if (generation === this.generation) return state;
      // notices keep arriving faster than the row can be read: fail closed rather than guess
      if (read === MAX_OVERTAKEN_READS) throw new KeyvaultError('vault_unavailable', 'The vault key could not be checked against the latest changes.');
    }
  }

  /** One read of the key's row, shared by concurrent callers; cached unless a notice overtook it. */
  private sharedLoad(id: string): Promise<VaultKeyState | null> {
    let pending = this.loading.get(id);
    if (!pending) {
      const generation = this.generation;
      pending = this.load(id)
        .then((state) => {
          if (generation === this.generation && this.store.listening) {
            if (this.states.size >= MAX_CACHED_STATES) this.states.delete(this.states.keys().next().value!);
            this.states.set(id, { state, loadedAt: Date.now() });
          }
          return state;
        })
        .finally(() => {
          if (this.loading.get(id) === pending) this.loading.delete(id);
        });
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async load(id: string): Promise<VaultKeyState | null> {
    const [row] = await this.store.query<{
      id: string;
      tenant_id: string;
      credential_id: string;
      vendor: string;
      daily_cap_nanos: string | null;
      total_cap_nanos: string | null;
      tenant_monthly_cap_nanos: string | null;
      allowed_endpoints: string[];
      max_call_nanos: string | null;
      allowed_models: string[] | null;
      allowed_headers: string[];
      allowed_inputs: string[] | null;
      duplicate_window_seconds: number;
      max_calls_per_minute: number | null;
      max_tokens_per_minute: number | null;
      expires_at: Date;
      revoked_at: Date | null;
      tenant_status: string;
      key_group: string | null;
      fallback_to_shared: boolean;
      run_id: string | null;
      conversation_id: string | null;
      capture: CaptureLevel;
    }>(
      'vault_key_state',
      `SELECT v.id, v.tenant_id, v.credential_id, v.vendor, v.daily_cap_nanos, v.allowed_endpoints, v.allowed_headers,
              v.total_cap_nanos, t.monthly_cap_nanos AS tenant_monthly_cap_nanos,
              v.max_call_nanos, v.allowed_models, v.duplicate_window_seconds, v.max_calls_per_minute, v.max_tokens_per_minute,
              v.allowed_inputs, v.expires_at, v.revoked_at, t.status AS tenant_status,
              v.key_group, v.fallback_to_shared, v.metadata->>'run_id' AS run_id, v.metadata->>'conversation_id' AS conversation_id,
              v.capture
         FROM vault_keys v JOIN tenants t ON t.id = v.tenant_id
        WHERE v.id = $1`,
      [id],
    );
    if (!row) return null;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      credentialId: row.credential_id,
      vendor: row.vendor,
      capNanos: row.daily_cap_nanos === null ? NO_DAILY_CAP_NANOS : BigInt(row.daily_cap_nanos),
      totalCapNanos: row.total_cap_nanos === null ? null : BigInt(row.total_cap_nanos),
      tenantMonthlyCapNanos: row.tenant_monthly_cap_nanos === null ? null : BigInt(row.tenant_monthly_cap_nanos),
      rules: compileEndpointRules(row.allowed_endpoints),
      guardrails: {
        maxCallNanos: row.max_call_nanos === null ? null : BigInt(row.max_call_nanos),
        allowedModels: row.allowed_models,
        duplicateWindowSeconds: row.duplicate_window_seconds,
        maxCallsPerMinute: row.max_calls_per_minute,
        maxTokensPerMinute: row.max_tokens_per_minute,
        allowedInputs: row.allowed_inputs as InputKind[] | null,
      },
      allowedHeaders: row.allowed_headers,
      expiresAtMs: new Date(row.expires_at).getTime(),
      revoked: row.revoked_at !== null,
      tenantDisabled: row.tenant_status !== 'active',
      keyPool: { group: row.key_group, fallbackToShared: row.fallback_to_shared },
      runId: row.run_id?.slice(0, 200) ?? null,
      conversationId: row.conversation_id?.slice(0, 200) ?? null,
      capture: row.capture,
    };
  }

  private invalidate(payload: string): void {
    this.generation++;
    let notice: VaultKeysNotice;
    try {
      notice = JSON.parse(payload) as VaultKeysNotice;
    } catch {
      return this.flush();
    }
    if ('vault_key_ids' in notice && Array.isArray(notice.vault_key_ids)) {
      for (const id of notice.vault_key_ids) {
        this.states.delete(id);
        this.loading.delete(id);
      }
    } else if ('tenant_id' in notice) {
      for (const [id, entry] of this.states) if (entry.state?.tenantId === notice.tenant_id) this.states.delete(id);
      // in-flight loads carry no tenant yet: drop them all, they are rare
      this.loading.clear();
    } else {
      this.flush();
    }
  }

  private flush(): void {
    this.generation++;
    this.states.clear();
    this.loading.clear();
  }
}
