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

/** What a receiver answered: its status and the start of its body (for the delivery history). */
export interface PostResult {
  status: number;
  excerpt: string;
}

/** Longest part of a receiver's answer kept. */
export const EXCERPT_BYTES = 1024;

/**
 * POSTs `body` to a user-supplied URL and resolves with the response status and an excerpt of its body. The host is
 * resolved and checked right here (resolveSafeTarget), and the socket connects only to the
 * address that check returned: a DNS answer that changes between check and connect (rebinding)
 * cannot reach a private address. TLS still verifies the certificate against the host name.
 */
export async function pinnedPost(rawUrl: string, body: string, headers: Record<string, string>, opts: PinnedPostOptions): Promise<PostResult> {
  // Our own timer and controller, not AbortSignal.any([signal, AbortSignal.timeout()]): Node holds
  // a timeout signal and the sources of an `any` signal weakly, so a garbage collection while the
  // receiver hung could take the timeout away, and the attempt (and its worker's round) hung for
  // good: seen under load as a delivery left pending.
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  const onShutdown = () => controller.abort(opts.signal.reason);
  if (opts.signal.aborted) onShutdown();
  else opts.signal.addEventListener('abort', onShutdown, { once: true });
  try {
    return await post(rawUrl, body, headers, opts, signal);
  } finally {
    // left to fire: it still cuts a receiver whose answered body drips on, but holds no process open
    timer.unref();
    opts.signal.removeEventListener('abort', onShutdown);
  }
}

async function post(rawUrl: string, body: string, headers: Record<string, string>, opts: PinnedPostOptions, signal: AbortSignal): Promise<PostResult> {
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
  return new Promise<PostResult>((resolve, reject) => {
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
        // The status decides; the body's first bytes are kept for the history, the rest is not read.
        const chunks: Buffer[] = [];
        let kept = 0;
        const done = () => {
          res.removeAllListeners('data');
          resolve({ status: res.statusCode ?? 0, excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8') });
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          kept += c.length;
          if (kept >= EXCERPT_BYTES) {
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        // A body that breaks off or drips past the timeout does not change the answer already given.
        res.on('error', done);
        res.on('aborted', done);
      },
    );
    req.on('error', (err) => reject(signal.aborted ? aborted() : err));
    req.end(body);
  });
}
