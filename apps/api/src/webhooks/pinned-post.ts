import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { resolveSafeTarget } from '@keyvault/net';

export interface PinnedPostOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** aborts the attempt (shutdown) */
  signal: AbortSignal;
}

/**
 * POSTs `body` to a user-supplied URL and resolves with the response status. The host is
 * resolved and checked right here (resolveSafeTarget), and the socket connects only to the
 * address that check returned: a DNS answer that changes between check and connect (rebinding)
 * cannot reach a private address. TLS still verifies the certificate against the host name.
 */
export async function pinnedPost(rawUrl: string, body: string, headers: Record<string, string>, opts: PinnedPostOptions): Promise<number> {
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  // Why the attempt stopped: shutdown (the caller's reason) or our own timeout.
  const aborted = () => (opts.signal.aborted ? opts.signal.reason : new Error(`timed out after ${opts.timeoutMs} ms`));
  if (signal.aborted) throw aborted();
  // The timeout bounds the whole attempt, DNS included, so an attempt never outlives its lease.
  let onAbort = () => undefined as void;
  const abortedFirst = new Promise<never>((_, reject) => {
    onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  abortedFirst.catch(() => undefined); // settled later or never: not an unhandled rejection
  let target: Awaited<ReturnType<typeof resolveSafeTarget>>;
  try {
    target = await Promise.race([resolveSafeTarget(rawUrl, { allowPrivate: opts.allowPrivate }), abortedFirst]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const { url, address } = target;
  const family = isIP(address);
  // Node asks for every address (`all`) when it may race IPv4 and IPv6: answer with the pinned one.
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup,
        // A fresh connection per attempt: a pooled socket could be one opened to another address.
        agent: false,
        signal,
      },
      (res) => {
        // Only the status matters; the body is drained (and cut off by the timeout if it drips).
        res.resume();
        res.on('error', () => undefined);
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (err) => reject(signal.aborted ? aborted() : err));
    req.end(body);
  });
}
