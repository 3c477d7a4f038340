import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { ApiConfig } from '@keyvault/config';
import {
  aad,
  exportPrivateKey,
  exportPublicKey,
  generateSigningKeyPair,
  importPrivateKey,
  importPublicKey,
  MasterKeyring,
  newId,
  type SigningKeyPair,
  VAULT_KEY_ALG,
} from '@keyvault/crypto';
import { CHANNELS, SigningKey } from '@keyvault/db';
import { API_CONFIG } from '../config.providers';

/** Arbitrary constant (beside the migration lock): serialises signing-key creation and rotation. */
const SIGNING_KEY_LOCK = 4_815_162_343;
const RELISTEN_DELAY_MS = 1_000;

/**
 * Owns the key that signs vault-key tokens. Exactly one key is active: created at the first
 * start, replaced by `rotate()`. Its private half lives in the database only sealed under the
 * master key and in this process only as a KeyObject, so issuing costs one signature and no I/O.
 * Every api instance listens on CHANNELS.signingKeys, so a rotation done on one instance moves
 * all of them to the new key.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeysService.name);
  private active: SigningKeyPair | null = null;
  private listener: Client | null = null;
  private relisten: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyring: MasterKeyring,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const pair = await this.db.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK]);
      const existing = await m.getRepository(SigningKey).findOne({ where: { status: 'active' }, order: { id: 'DESC' } });
      return existing ? this.unseal(existing) : (await this.create(m)).pair;
    });
    this.active = pair;
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relisten);
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }

  /** The key new tokens are signed with. */
  signer(): SigningKeyPair {
    if (!this.active) throw new Error('signing keys are not loaded yet');
    return this.active;
  }

  /** A new active key; the former ones are retired (they keep verifying what they signed). */
  async rotate(): Promise<SigningKey> {
    const { row, pair } = await this.db.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK]);
      await m.query(`UPDATE signing_keys SET status = 'retired' WHERE status = 'active'`);
      return this.create(m);
    });
    this.active = pair;
    return row;
  }

  list(): Promise<SigningKey[]> {
    return this.db.getRepository(SigningKey).find({ order: { id: 'DESC' } });
  }

  private async create(m: EntityManager): Promise<{ row: SigningKey; pair: SigningKeyPair }> {
    const pair = generateSigningKeyPair(newId('signingKey'));
    const der = exportPrivateKey(pair.privateKey);
    const { wrapped, masterKeyId } = this.keyring.wrap(der, aad.signingKey(pair.kid));
    der.fill(0);
    const row = await m.getRepository(SigningKey).save({
      id: pair.kid,
      algorithm: VAULT_KEY_ALG,
      publicKeyPem: exportPublicKey(pair.publicKey),
      privateKeySealed: wrapped,
      masterKeyId,
      status: 'active',
    });
    // Delivered at commit: proxies load the new public key, other api instances the new signer.
    await m.query('SELECT pg_notify($1, $2)', [CHANNELS.signingKeys, JSON.stringify({ kid: pair.kid })]);
    return { row, pair };
  }

  private unseal(row: SigningKey): SigningKeyPair {
    const der = this.keyring.unwrap(row.privateKeySealed, row.masterKeyId, aad.signingKey(row.id));
    try {
      return { kid: row.id, privateKey: importPrivateKey(der), publicKey: importPublicKey(row.publicKeyPem) };
    } finally {
      der.fill(0);
    }
  }

  /** Adopts the newest active key when another instance rotated. */
  private async reload(): Promise<void> {
    const row = await this.db.getRepository(SigningKey).findOne({ where: { status: 'active' }, order: { id: 'DESC' } });
    if (row && row.id !== this.active?.kid) this.active = this.unseal(row);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.config.DATABASE_URL, application_name: 'keyvault-api-signing-keys' });
    let lost = false;
    client.on('notification', () => {
      this.reload().catch((err: Error) => this.logger.warn(`could not reload the signing key: ${err.message}`));
    });
    client.on('error', (err: Error) => {
      if (lost) return;
      lost = true;
      client.end().catch(() => undefined);
      if (this.listener === client) this.listener = null;
      if (this.stopped) return;
      this.logger.warn(`signing-key listener lost its connection, listening again: ${err.message}`);
      this.scheduleListen();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNELS.signingKeys}`);
    } catch (err) {
      lost = true;
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
  }

  /** After a lost connection: listen again, then catch up on any rotation missed meanwhile. */
  private scheduleListen(): void {
    if (this.stopped) return;
    this.relisten = setTimeout(() => {
      this.listen()
        .then(() => this.reload())
        .catch((err: Error) => {
          this.logger.warn(`signing-key listener could not reconnect: ${err.message}`);
          this.scheduleListen();
        });
    }, RELISTEN_DELAY_MS);
  }
}
