import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption with AES-256-GCM. The master key wraps each tenant's data key; the data
 * key encrypts that tenant's provider keys. Additional authenticated data binds a ciphertext to
 * where it belongs (tenant id, key id), so a row copied elsewhere fails to decrypt.
 *
 * Sealed layout: 12-byte nonce | ciphertext | 16-byte tag.
 */
const NONCE = 12;
const TAG = 16;

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export class DecryptionError extends Error {
  constructor() {
    super('ciphertext failed authentication');
    this.name = 'DecryptionError';
  }
}

export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < NONCE + TAG) throw new DecryptionError();
  const nonce = sealed.subarray(0, NONCE);
  const tag = sealed.subarray(sealed.length - TAG);
  const body = sealed.subarray(NONCE, sealed.length - TAG);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

/** Short public fingerprint of a master key, recorded beside everything it wraps. */
export function masterKeyId(masterKey: Buffer): string {
  return createHash('sha256').update('keyvault-master-key-id').update(masterKey).digest('hex').slice(0, 16);
}

/**
 * The set of master keys a process knows: the current one wraps, every one unwraps. During a
 * rotation the former key stays in KEYVAULT_PREVIOUS_MASTER_KEYS until everything is re-wrapped.
 */
export class MasterKeyring {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(currentBase64: string, previousBase64: string[] = []) {
    const current = Buffer.from(currentBase64, 'base64');
    this.currentId = masterKeyId(current);
    this.keys.set(this.currentId, current);
    for (const p of previousBase64) {
      const k = Buffer.from(p, 'base64');
      this.keys.set(masterKeyId(k), k);
    }
  }

  wrap(plaintext: Buffer, aad: string): { wrapped: Buffer; masterKeyId: string } {
    return { wrapped: seal(this.keys.get(this.currentId)!, plaintext, aad), masterKeyId: this.currentId };
  }

  unwrap(wrapped: Buffer, masterKeyIdUsed: string, aad: string): Buffer {
    const key = this.keys.get(masterKeyIdUsed);
    if (!key) throw new Error(`master key ${masterKeyIdUsed} is not configured (KEYVAULT_PREVIOUS_MASTER_KEYS?)`);
    return open(key, wrapped, aad);
  }
}

/** AAD strings, in one place so that api and proxy bind ciphertexts identically. */
export const aad = {
  tenantDataKey: (tenantId: string, version: number) => `keyvault:tenant-data-key:${tenantId}:v${version}`,
  providerKey: (tenantId: string, credentialKeyId: string) => `keyvault:provider-key:${tenantId}:${credentialKeyId}`,
  signingKey: (kid: string) => `keyvault:signing-key:${kid}`,
  webhookSecret: (tenantId: string, webhookId: string) => `keyvault:webhook-secret:${tenantId}:${webhookId}`,
  idempotentResponse: (scope: string, idempotencyKey: string) => `keyvault:idempotency:${scope}:${idempotencyKey}`,
  auditCapture: (tenantId: string, auditId: string) => `keyvault:audit-capture:${tenantId}:${auditId}`,
};
