import { KeyvaultError } from '@keyvault/errors';
import { resolveSafeTarget, UnsafeUrlError, type SafeUrlOptions } from '@keyvault/net';

/**
 * Refuses a profile base_url the proxy must never call: not https, credentials in the URL, or a
 * host that is (or resolves to) a private, loopback or link-local address, unless private
 * upstreams are allowed. The proxy checks again at call time (DNS may change); this check makes
 * a bad URL fail when it is saved. The message names the reason but never echoes the URL, which
 * may carry credentials. Returns the URL to store, without trailing slashes.
 */
export async function checkBaseUrl(raw: string, options: SafeUrlOptions): Promise<string> {
  try {
    await resolveSafeTarget(raw, options);
  } catch (err) {
    if (err instanceof UnsafeUrlError) {
      throw new KeyvaultError('unsafe_url', `base_url ${err.message} (${err.reason}).`, 'base_url');
    }
    throw err;
  }
  return raw.replace(/\/+$/, '');
}
