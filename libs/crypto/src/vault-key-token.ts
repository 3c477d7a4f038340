import { generateKeyPairSync, KeyObject, createPublicKey, createPrivateKey } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';

/**
 * A vault key is `vault_key_` + a compact JWS (EdDSA / Ed25519) whose claims carry the key id,
 * tenant, vendor and expiry. The proxy checks signature and expiry with public keys alone, so
 * malformed, forged or expired keys never cost a database query. The database stores only the
 * key id, never the token.
 */
export const VAULT_KEY_PREFIX = 'vault_key_';
export const VAULT_KEY_ALG = 'EdDSA';

export interface VaultKeyClaims {
  /** vault key id (vk_...) */
  sub: string;
  /** tenant id */
  ten: string;
  /** vendor */
  ven: string;
  /** expiry, unix seconds */
  exp: number;
  /** issued at, unix seconds */
  iat: number;
}

export interface SigningKeyPair {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKeyPair(kid: string): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, publicKey };
}

export const exportPrivateKey = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'pkcs8' }) as Buffer;
export const importPrivateKey = (der: Buffer): KeyObject => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
export const exportPublicKey = (k: KeyObject): string => k.export({ format: 'pem', type: 'spki' }).toString();
export const importPublicKey = (pem: string): KeyObject => createPublicKey(pem);

const encoder = new TextEncoder();

export async function signVaultKey(key: SigningKeyPair, claims: VaultKeyClaims): Promise<string> {
  const jws = await new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: VAULT_KEY_ALG, kid: key.kid, typ: 'vault-key+jws' })
    .sign(key.privateKey);
  return VAULT_KEY_PREFIX + jws;
}

export type VaultKeyVerdict =
  | { ok: true; claims: VaultKeyClaims }
  | { ok: false; reason: 'invalid_vault_key' | 'vault_key_expired' };

const INVALID: VaultKeyVerdict = { ok: false, reason: 'invalid_vault_key' };

function validClaims(c: unknown): c is VaultKeyClaims {
  const o = c as Record<string, unknown>;
  return (
    typeof o === 'object' && o !== null &&
    typeof o.sub === 'string' && o.sub.startsWith('vk_') &&
    typeof o.ten === 'string' && o.ten.startsWith('ten_') &&
    typeof o.ven === 'string' &&
    Number.isInteger(o.exp) && Number.isInteger(o.iat)
  );
}

/**
 * Verifies a presented token against the known public keys (by `kid`). Pure CPU: no I/O.
 * `nowSeconds` is injectable for tests.
 */
export async function verifyVaultKey(
  token: string,
  publicKeys: ReadonlyMap<string, KeyObject>,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<VaultKeyVerdict> {
  if (typeof token !== 'string' || !token.startsWith(VAULT_KEY_PREFIX) || token.length > 2048) return INVALID;
  const jws = token.slice(VAULT_KEY_PREFIX.length);
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(jws);
    if (header.alg !== VAULT_KEY_ALG) return INVALID;
    kid = header.kid;
  } catch {
    return INVALID;
  }
  const key = kid ? publicKeys.get(kid) : undefined;
  if (!key) return INVALID;
  let claims: unknown;
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [VAULT_KEY_ALG] });
    claims = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof SyntaxError) return INVALID;
    return INVALID;
  }
  if (!validClaims(claims)) return INVALID;
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'vault_key_expired' };
  return { ok: true, claims };
}
