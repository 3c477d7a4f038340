import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPublicAddress } from './address';

export type UnsafeReason = 'invalid_url' | 'not_https' | 'credentials_in_url' | 'private_address' | 'unresolvable';

export class UnsafeUrlError extends Error {
  constructor(
    readonly reason: UnsafeReason,
    message: string,
  ) {
    super(message);
    this.name = 'UnsafeUrlError';
  }
}

export interface SafeUrlOptions {
  /** KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: allows http and private, loopback and link-local targets */
  allowPrivate: boolean;
  /** injectable for tests: resolves a host name to addresses */
  resolve?: (host: string) => Promise<string[]>;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Checks a URL's shape: absolute http(s), no userinfo; https unless private targets are allowed. */
export function checkUrlShape(raw: string, { allowPrivate }: Pick<SafeUrlOptions, 'allowPrivate'>): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('invalid_url', 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new UnsafeUrlError('not_https', 'must use https');
  }
  if (url.username || url.password) throw new UnsafeUrlError('credentials_in_url', 'must not carry credentials');
  return url;
}

/**
 * Resolves the URL's host and returns the address to connect to, refusing any non-public one
 * (unless allowed). Call it right before connecting and connect to the returned address, so a
 * DNS answer that changes between check and use (rebinding) cannot slip through.
 */
export async function resolveSafeTarget(raw: string, opts: SafeUrlOptions): Promise<{ url: URL; address: string }> {
  const url = checkUrlShape(raw, opts);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (opts.resolve ?? defaultResolve)(host);
    } catch {
      throw new UnsafeUrlError('unresolvable', `host ${host} does not resolve`);
    }
  }
  if (addresses.length === 0) throw new UnsafeUrlError('unresolvable', `host ${host} does not resolve`);
  if (!opts.allowPrivate) {
    // Every answer must be public: an attacker's DNS may rotate a private one in.
    const bad = addresses.find((a) => !isPublicAddress(a));
    if (bad !== undefined) throw new UnsafeUrlError('private_address', `resolves to a non-public address (${bad})`);
  }
  return { url, address: addresses[0] };
}
