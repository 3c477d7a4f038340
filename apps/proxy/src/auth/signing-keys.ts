import { Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { importPublicKey, VAULT_KEY_PREFIX } from '@keyvault/crypto';
import { CHANNELS } from '@keyvault/db';
import { ProxyStore } from '../store/proxy-store';

/** A token naming an unknown kid may reload the keys at most this often, across all requests. */
const UNKNOWN_KID_RELOAD_INTERVAL_MS = 5_000;

/**
 * The public keys that verify vault-key tokens, held in memory. Loaded at start, reloaded when
 * a signing key is added or retired (NOTIFY) and whenever the LISTEN connection comes back.
 * Retired keys still verify what they signed before a rotation (the api signs with the active
 * one only); a key row that is gone, or in any other status, verifies nothing.
 */
@Injectable()
export class SigningKeys {
  private keys: ReadonlyMap<string, KeyObject> = new Map();
  private loading: Promise<void> | null = null;
  /** a load asked for while one was under way (which may have read before the change) */
  private queued: Promise<void> | null = null;
  /** the reload a notice asked for, until it is done: verifications wait for it */
  pending: Promise<void> | null = null;
  private lastLoadStarted = 0;
  /** bumped on every reload, so verdicts cached under older keys can be dropped */
  version = 0;

  constructor(private readonly store: ProxyStore) {
    store.onNotice(CHANNELS.signingKeys, () => {
      const reloaded = this.reload().catch(() => undefined);
      this.pending = reloaded;
      void reloaded.then(() => {
        if (this.pending === reloaded) this.pending = null;
      });
    });
    store.onListenerChange((listening) => listening && void this.reload().catch(() => undefined));
  }

  get current(): ReadonlyMap<string, KeyObject> {
    return this.keys;
  }

  /**
   * Loads the keys. Concurrent callers share one query; one asking while a query is under way
   * gets another after it, since the one under way may have read before the change it heard of.
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.queued ??= this.loading
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.reload();
        });
      return this.queued;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /**
   * For a token that failed verification: if it names a kid we do not know, reload once (a key
   * created a moment ago, before its notice arrived) unless a load started recently. Forged
   * tokens with made-up kids therefore cost at most one query per interval, globally.
   * Returns true when the caller should verify again.
   */
  async refreshForUnknownKid(token: string): Promise<boolean> {
    const kid = kidOf(token);
    if (kid === null || this.keys.has(kid)) return false;
    if (Date.now() - this.lastLoadStarted < UNKNOWN_KID_RELOAD_INTERVAL_MS && !this.loading) return false;
    await this.reload();
    return this.keys.has(kid);
  }

  private async load(): Promise<void> {
    this.lastLoadStarted = Date.now();
    const rows = await this.store.query<{ id: string; public_key_pem: string }>(
      'signing_keys',
      `SELECT id, public_key_pem FROM signing_keys WHERE status IN ('active', 'retired')`,
    );
    this.keys = new Map(rows.map((r) => [r.id, importPublicKey(r.public_key_pem)]));
    this.version++;
  }
}

function kidOf(token: string): string | null {
  if (!token.startsWith(VAULT_KEY_PREFIX)) return null;
  try {
    const kid = decodeProtectedHeader(token.slice(VAULT_KEY_PREFIX.length)).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}
