import type { IncomingHttpHeaders } from 'node:http';
import { VAULT_KEY_PREFIX } from '@keyvault/crypto';

/**
 * The vault key as a client presents it: `Authorization: Bearer` (OpenAI, Stripe, Resend
 * SDKs), `x-api-key` (Anthropic's SDK) or the Basic-auth password (Twilio's SDK). When several
 * are present, the one that looks like a vault key wins; null when there is none at all.
 */
export function presentedVaultKey(headers: IncomingHttpHeaders): string | null {
  let fallback: string | null = null;
  const consider = (candidate: string | undefined): string | null => {
    if (!candidate) return null;
    if (candidate.startsWith(VAULT_KEY_PREFIX)) return candidate;
    fallback ??= candidate;
    return null;
  };
  const auth = headers.authorization;
  if (auth) {
    const space = auth.indexOf(' ');
    const scheme = auth.slice(0, space).toLowerCase();
    const value = auth.slice(space + 1).trim();
    if (scheme === 'bearer') {
      const found = consider(value);
      if (found) return found;
    } else if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const found = consider(decoded.slice(decoded.indexOf(':') + 1));
      if (found) return found;
    }
  }
  const apiKey = headers['x-api-key'];
  return consider(typeof apiKey === 'string' ? apiKey.trim() : undefined) ?? fallback;
}

/**
 * A vault key (or a gateway key) in the query string is refused even when a header carries one too: URLs end up
 * in logs and browser histories, so such a key must be treated as leaked.
 */
export function queryCarriesVaultKey(query: string): boolean {
  const q = query.toLowerCase();
  return q.includes('vault_key_') || q.includes('vault%5fkey%5f') || q.includes('kv_gw_') || q.includes('kv%5fgw%5f');
}
