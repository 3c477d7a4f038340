import { ID_PREFIXES, randomChars } from '@keyvault/crypto';

/**
 * Tenant API keys look like `kv_live_<26-char id body><32-char secret>`. The id body makes the
 * row a primary-key lookup; the whole token is verified against its argon2id hash.
 */
export const API_KEY_PREFIX = 'kv_live_';
const ID_BODY = 26;
const SECRET = 32;

export function mintApiKeyToken(apiKeyId: string): string {
  return API_KEY_PREFIX + apiKeyId.slice(ID_PREFIXES.tenantApiKey.length) + randomChars(SECRET);
}

/** The api key id a token claims to be, or null if it is not shaped like one. */
export function apiKeyIdOf(token: string): string | null {
  if (!token.startsWith(API_KEY_PREFIX) || token.length !== API_KEY_PREFIX.length + ID_BODY + SECRET) return null;
  const body = token.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + ID_BODY);
  if (!/^[0-9a-z]+$/.test(token.slice(API_KEY_PREFIX.length))) return null;
  return ID_PREFIXES.tenantApiKey + body;
}
