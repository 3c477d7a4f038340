import { ID_PREFIXES, randomChars } from './ids';

/**
 * Gateway keys look like `kv_gw_<26-char id body><32-char secret>`: the id body makes the row a
 * primary-key lookup, the whole token is verified against its argon2id hash. Shared by the api
 * (which mints them) and the proxy (which accepts them in place of a vault key).
 */
export const GATEWAY_KEY_PREFIX = 'kv_gw_';
const ID_BODY = 26;
const SECRET = 32;

export function mintGatewayKeyToken(gatewayKeyId: string): string {
  return GATEWAY_KEY_PREFIX + gatewayKeyId.slice(ID_PREFIXES.gatewayKey.length) + randomChars(SECRET);
}

/** The gateway key id a token claims to be, or null if it is not shaped like one. */
export function gatewayKeyIdOf(token: string): string | null {
  if (!token.startsWith(GATEWAY_KEY_PREFIX) || token.length !== GATEWAY_KEY_PREFIX.length + ID_BODY + SECRET) return null;
  if (!/^[0-9a-z]+$/.test(token.slice(GATEWAY_KEY_PREFIX.length))) return null;
  return ID_PREFIXES.gatewayKey + token.slice(GATEWAY_KEY_PREFIX.length, GATEWAY_KEY_PREFIX.length + ID_BODY);
}
