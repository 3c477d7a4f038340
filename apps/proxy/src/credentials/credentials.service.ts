import { Injectable, Logger } from '@nestjs/common';
import { MasterKeyring, openProviderKey, unwrapTenantDataKey, type Secret } from '@keyvault/crypto';
import { CHANNELS, type CredentialsNotice, type CredentialStrategy } from '@keyvault/db';
import { KeyvaultError } from '@keyvault/errors';
import { ProxyStore } from '../store/proxy-store';
import { KeyCooldowns, poolOrder, type KeyPool } from './key-rotation';

/** One real provider key, decrypted, in memory only. */
export interface ProviderKey {
  /** ck_... (named in the audit row of every call it serves) */
  id: string;
  secret: Secret;
  /** null: a shared key; else only vault keys naming this key group use it */
  group: string | null;
}

export interface LoadedCredential {
  id: string;
  tenantId: string;
  vendor: string;
  strategy: CredentialStrategy;
  baseUrl: string | null;
  /** active keys, lowest position first */
  keys: ProviderKey[];
  /** budgets above its vault keys (issue 19): the profile's UTC day and calendar month; null: none */
  dailyCapNanos: bigint | null;
  monthlyCapNanos: bigint | null;
}

const SHARED: KeyPool = { group: null, fallbackToShared: false };

/** Notices keep profiles true; this only bounds the damage of a missed one. */
const CREDENTIAL_TTL_MS = 30_000;

interface Row {
  id: string;
  tenant_id: string;
  vendor: string;
  strategy: CredentialStrategy;
  base_url: string | null;
  deleted_at: Date | null;
  daily_cap_nanos: string | null;
  monthly_cap_nanos: string | null;
  data_key_wrapped: Buffer;
  data_key_master_key_id: string;
  data_key_version: number;
  key_id: string | null;
  sealed: Buffer | null;
  key_data_key_version: number | null;
  key_group: string | null;
}

/**
 * Credential profiles with their active keys, decrypted once and cached per profile; reloaded
 * when the api announces a change (a key added or retired takes effect on the next call).
 * Also decides which key a call tries first and which next when the upstream refuses one.
 */
@Injectable()
export class CredentialsService {
  private readonly logger = new Logger('Credentials');
  private readonly cache = new Map<string, { credential: LoadedCredential; loadedAt: number }>();
  private readonly loading = new Map<string, Promise<LoadedCredential>>();
  private readonly cursors = new Map<string, number>();
  private readonly cooldowns = new KeyCooldowns();
  private generation = 0;

  constructor(
    private readonly store: ProxyStore,
    private readonly keyring: MasterKeyring,
  ) {
    store.onNotice(CHANNELS.credentials, (payload) => this.invalidate(payload));
    store.onListenerChange(() => this.flush());
  }

  async get(id: string): Promise<LoadedCredential> {
    const cached = this.cache.get(id);
    if (cached && this.store.listening && Date.now() - cached.loadedAt < CREDENTIAL_TTL_MS) return cached.credential;
    let pending = this.loading.get(id);
    if (!pending) {
      const generation = this.generation;
      pending = this.load(id)
        .then((credential) => {
          if (generation === this.generation && this.store.listening) this.cache.set(id, { credential, loadedAt: Date.now() });
          return credential;
        })
        .finally(() => {
          if (this.loading.get(id) === pending) this.loading.delete(id);
        });
      this.loading.set(id, pending);
    }
    return pending;
  }

  /**
   * The keys one call tries, in order (see poolOrder): the vault key's pool of the profile's
   * keys, round robin with a cursor per pool. Refused when the pool holds no key at all (a
   * group whose keys were all retired, or a profile with grouped keys only).
   */
  attemptOrder(credential: LoadedCredential, pool: KeyPool = SHARED): ProviderKey[] {
    const cursors = { group: this.cursor(credential, pool.group), shared: this.cursor(credential, null) };
    const keys = poolOrder(credential.keys, pool, credential.strategy, cursors, this.cooldowns);
    if (keys.length === 0) {
      throw new KeyvaultError('upstream_unreachable', pool.group === null ? 'The credential profile has no active provider key without a group.' : `The credential profile has no active provider key in group '${pool.group}'.`);
    }
    return keys;
  }

  /** The pool's round-robin cursor, moved on by one call. */
  private cursor(credential: LoadedCredential, group: string | null): number {
    const name = group === null ? credential.id : `${credential.id}/${group}`;
    const cursor = this.cursors.get(name) ?? 0;
    if (credential.strategy === 'round_robin') this.cursors.set(name, (cursor + 1) % 1_000_000);
    return cursor;
  }

  /** The upstream refused this key (quota, rate limit, revoked): rest it. */
  refused(keyId: string, retryAfterSeconds: number | null): void {
    this.cooldowns.refused(keyId, retryAfterSeconds);
  }

  served(keyId: string): void {
    this.cooldowns.served(keyId);
  }

  private async load(id: string): Promise<LoadedCredential> {
    const rows = await this.store.query<Row>(
      'credential',
      `SELECT p.id, p.tenant_id, p.vendor, p.strategy, p.base_url, p.deleted_at, p.daily_cap_nanos, p.monthly_cap_nanos,
              t.data_key_wrapped, t.data_key_master_key_id, t.data_key_version,
              k.id AS key_id, k.sealed, k.data_key_version AS key_data_key_version, k.key_group
         FROM credential_profiles p
         JOIN tenants t ON t.id = p.tenant_id
         LEFT JOIN credential_keys k ON k.credential_id = p.id AND k.status = 'active'
        WHERE p.id = $1
        ORDER BY k.position, k.id`,
      [id],
    );
    const p = rows[0];
    if (!p || p.deleted_at !== null) throw new KeyvaultError('vault_key_revoked', 'The credential profile of this vault key was deleted.');
    let dataKey: Buffer | null = null;
    const keys: ProviderKey[] = [];
    try {
      dataKey = unwrapTenantDataKey(this.keyring, {
        id: p.tenant_id,
        dataKeyWrapped: p.data_key_wrapped,
        dataKeyMasterKeyId: p.data_key_master_key_id,
        dataKeyVersion: p.data_key_version,
      });
      for (const r of rows) {
        if (r.key_id === null || r.sealed === null) continue;
        if (r.key_data_key_version !== p.data_key_version) {
          this.logger.error({ credential_key_id: r.key_id }, 'provider key sealed under another data key version; skipped');
          continue;
        }
        keys.push({ id: r.key_id, secret: openProviderKey(dataKey, p.tenant_id, r.key_id, r.sealed), group: r.key_group });
      }
    } catch (err) {
      this.logger.error({ credential_id: id, err: { message: (err as Error).message } }, 'cannot decrypt the provider keys of a profile');
      throw new KeyvaultError('vault_unavailable', 'The provider keys of this vault key cannot be decrypted.');
    } finally {
      dataKey?.fill(0);
    }
    if (keys.length === 0) throw new KeyvaultError('upstream_unreachable', 'The credential profile has no active provider key.');
    return {
      id: p.id, tenantId: p.tenant_id, vendor: p.vendor, strategy: p.strategy, baseUrl: p.base_url, keys,
      dailyCapNanos: p.daily_cap_nanos === null ? null : BigInt(p.daily_cap_nanos),
      monthlyCapNanos: p.monthly_cap_nanos === null ? null : BigInt(p.monthly_cap_nanos),
    };
  }

  private invalidate(payload: string): void {
    this.generation++;
    let notice: CredentialsNotice;
    try {
      notice = JSON.parse(payload) as CredentialsNotice;
    } catch {
      return this.flush();
    }
    if ('credential_id' in notice) {
      this.cache.delete(notice.credential_id);
      this.loading.delete(notice.credential_id);
    } else if ('tenant_id' in notice) {
      for (const [id, entry] of this.cache) if (entry.credential.tenantId === notice.tenant_id) this.cache.delete(id);
      this.loading.clear();
    } else {
      this.flush();
    }
  }

  private flush(): void {
    this.generation++;
    this.cache.clear();
    this.loading.clear();
  }
}
