import { Inject, Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Client, Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { upstreamFor, type ProxyConfig, type Vendor } from '@keyvault/config';
import { KeyvaultError } from '@keyvault/errors';
import { resolveSafeTarget, UnsafeUrlError } from '@keyvault/net';
import { PROXY_CONFIG } from '../proxy.config';
import { ProxyMetrics } from '../proxy-metrics';
import type { OutgoingHeaders } from '../vendors/vendor-adapter';
import { UpstreamExchange } from './upstream-exchange';
import { UpstreamGate } from './upstream-gate';
import type { HangUpSignal } from './hang-up';

/** Where one call goes: a keep-alive pool for the origin, and the base URL's path prefix. */
export interface UpstreamTarget {
  pool: Pool;
  basePath: string;
  /** the origin's bound on calls in flight; null without KEYVAULT_UPSTREAM_MAX_CONNECTIONS */
  gate: UpstreamGate | null;
  /** how long the response headers may take (LLM vendors answer a whole completion before them) */
  headersTimeout: number;
}

/**
 * A call that failed before a response. `requestSent`: false only when nothing reached the
 * upstream (no connection, a refused address, no free connection); the forwarder books the
 * worst case otherwise, as the vendor may have done the work and billed it.
 */
export class UpstreamFailure extends KeyvaultError {
  requestSent = true;
}

/** Vendors whose answers are generated: their time to first byte has its own, longer, limit. */
const LLM_VENDORS = new Set(['openai', 'anthropic', 'openai_compatible']);
/** Failures that happen before a byte of the request is written. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

const MAX_POOLS = 256;
/** Calls one HTTP/2 connection carries at once before the pool opens another (a Node server's default limit). */
const H2_STREAMS_PER_CONNECTION = 100;
/**
 * How long a checked base_url answer is reused. Whatever the cache, connections only ever go to
 * an address that passed the check (pinned), so a DNS answer changed afterwards cannot redirect
 * them; the cache only bounds how often a profile's host is resolved.
 */
const CHECKED_TARGET_TTL_MS = 10_000;

/**
 * Connections to vendors: one keep-alive undici Pool per origin (per pinned address for a
 * profile's own base_url). A deployment's KEYVAULT_UPSTREAM_<VENDOR> is trusted as configured;
 * a profile's base_url is user input, so it is resolved and checked at call time
 * (resolveSafeTarget) and the connection goes to the address that was checked.
 */
@Injectable()
export class UpstreamClient {
  private readonly pools = new Map<string, { pool: Pool; gate: UpstreamGate | null }>();
  private readonly configured = new Map<string, UpstreamTarget>();
  private readonly checked = new Map<string, { target: UpstreamTarget; until: number }>();
  /** the trusted roots for upstream TLS when KEYVAULT_UPSTREAM_CA_FILE adds some (undefined: the system's) */
  private readonly ca: string[] | undefined;

  constructor(
    @Inject(PROXY_CONFIG) private readonly config: ProxyConfig,
    private readonly metrics: ProxyMetrics,
  ) {
    metrics.watchUpstream(() => this.stats());
    this.ca = config.KEYVAULT_UPSTREAM_CA_FILE ? [...rootCertificates, readFileSync(config.KEYVAULT_UPSTREAM_CA_FILE, 'utf8')] : undefined;
  }

  /** Upstream connections open and calls waiting for one, across every origin (read at each /metrics scrape). */
  stats(): { connections: number; queued: number } {
    let connections = 0;
    let queued = 0;
    for (const { pool, gate } of this.pools.values()) {
      const s = pool.stats;
      connections += s.connected;
      queued += s.pending + (gate?.queued ?? 0);
    }
    return { connections, queued };
  }

  async target(vendor: string, baseUrl: string | null): Promise<UpstreamTarget> {
    if (baseUrl === null) {
      let target = this.configured.get(vendor);
      // a pool evicted to make room for others is closed: build a fresh one
      if (!target || target.pool.closed) {
        if (vendor === 'openai_compatible') throw new KeyvaultError('upstream_unreachable', 'This credential profile names no base_url.');
        const url = new URL(upstreamFor(this.config, vendor as Exclude<Vendor, 'openai_compatible'>));
        target = { ...this.pool(url.origin, null), basePath: trimSlash(url.pathname), headersTimeout: this.headersTimeout(vendor) };
        this.configured.set(vendor, target);
      }
      return target;
    }
    const checkedId = `${vendor} ${baseUrl}`;
    const cached = this.checked.get(checkedId);
    if (cached && cached.until > Date.now() && !cached.target.pool.closed) return cached.target;
    let safe: { url: URL; address: string };
    try {
      safe = await resolveSafeTarget(baseUrl, { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new KeyvaultError('upstream_unreachable', `The profile's base_url was refused: ${err.message}.`);
      throw err;
    }
    const target = { ...this.pool(safe.url.origin, safe.address), basePath: trimSlash(safe.url.pathname), headersTimeout: this.headersTimeout(vendor) };
    if (this.checked.size >= MAX_POOLS) this.checked.delete(this.checked.keys().next().value!);
    this.checked.set(checkedId, { target, until: Date.now() + CHECKED_TARGET_TTL_MS });
    return target;
  }

  /**
   * Sends one request; failures before a response are UpstreamFailures: 502 upstream_unreachable,
   * 504 upstream_timeout, or 503 upstream_busy past KEYVAULT_UPSTREAM_MAX_CONNECTIONS. `signal`
   * (the client hung up) aborts the request wherever it is, waiting for a connection included.
   * The body is idle-timed (KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS between chunks, never while the
   * client's backpressure pauses it), never timed as a whole; undici runs those timers off one
   * shared coarse clock, not a timer per call.
   */
  async request(
    target: UpstreamTarget,
    call: { method: string; path: string; query: string; headers: OutgoingHeaders; body: Buffer },
    signal?: HangUpSignal,
  ): Promise<UpstreamExchange> {
    const { gate } = target;
    if (gate) {
      try {
        await gate.acquire(signal);
      } catch (err) {
        throw notSent(err as KeyvaultError);
      }
    }
    const onAbort = () => exchange.abort(signal?.reason instanceof Error ? signal.reason : undefined);
    const exchange = new UpstreamExchange(() => {
      signal?.removeEventListener('abort', onAbort);
      gate?.release();
    });
    if (signal?.aborted) exchange.abort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    target.pool.dispatch(
      {
        method: call.method as Dispatcher.HttpMethod,
        path: target.basePath + call.path + (call.query ? `?${call.query}` : ''),
        headers: call.headers,
        body: call.body.length > 0 || !['GET', 'HEAD'].includes(call.method) ? call.body : undefined,
        headersTimeout: target.headersTimeout,
        bodyTimeout: this.config.KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS,
        // undici keeps a POST off an HTTP/2 connection that carries others unless told it may be
        // retried; nothing here retries, and the body is a buffer, so streams may share it
        ...(this.config.KEYVAULT_UPSTREAM_HTTP2 ? { idempotent: true } : {}),
      },
      exchange,
    );
    try {
      return await exchange.started;
    } catch (err) {
      throw upstreamFailure(err);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()].map((p) => p.pool);
    this.pools.clear();
    this.configured.clear();
    this.checked.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }

  /**
   * The origin's pool: with no KEYVAULT_UPSTREAM_MAX_CONNECTIONS, no connection limit (a call
   * never waits behind another); with one, that many connections and a gate that refuses the
   * call past them instead of letting undici queue it.
   */
  private pool(origin: string, pinnedAddress: string | null): { pool: Pool; gate: UpstreamGate | null } {
    const id = pinnedAddress ? `${origin}@${pinnedAddress}` : origin;
    let entry = this.pools.get(id);
    if (entry) return entry;
    if (this.pools.size >= MAX_POOLS) {
      const [oldestId, oldest] = this.pools.entries().next().value!;
      this.pools.delete(oldestId);
      void oldest.pool.close().catch(() => undefined);
    }
    const max = this.config.KEYVAULT_UPSTREAM_MAX_CONNECTIONS;
    const pool = new Pool(origin, {
      connections: max,
      allowH2: this.config.KEYVAULT_UPSTREAM_HTTP2,
      ...(this.config.KEYVAULT_UPSTREAM_HTTP2 ? { factory: multiplexingClient } : {}),
      keepAliveTimeout: 30_000,
      headersTimeout: this.config.KEYVAULT_UPSTREAM_TIMEOUT_MS,
      bodyTimeout: this.config.KEYVAULT_UPSTREAM_IDLE_TIMEOUT_MS,
      connect: {
        timeout: Math.min(this.config.KEYVAULT_UPSTREAM_TIMEOUT_MS, 10_000),
        ...(this.ca ? { ca: this.ca } : {}),
        ...(pinnedAddress ? { lookup: pinnedLookup(pinnedAddress) } : {}),
      },
    });
    const gate = max === null ? null : new UpstreamGate(max, this.config.KEYVAULT_UPSTREAM_QUEUE_TIMEOUT_MS, () => this.metrics.upstreamBusy.inc());
    entry = { pool, gate };
    this.pools.set(id, entry);
    return entry;
  }

  private headersTimeout(vendor: string): number {
    return LLM_VENDORS.has(vendor) ? this.config.KEYVAULT_UPSTREAM_LLM_TIMEOUT_MS : this.config.KEYVAULT_UPSTREAM_TIMEOUT_MS;
  }
}

/**
 * A pool member that carries many calls at once on a connection that negotiated HTTP/2, and one
 * at a time (no HTTP/1.1 pipelining) on any other: undici's clients run one call per connection
 * unless told otherwise, whatever the protocol.
 */
function multiplexingClient(origin: URL | string, options: Pool.Options): Dispatcher {
  const connect = options.connect as (opts: object, callback: (err: Error | null, socket: unknown) => void) => void;
  let h2 = false;
  const client: Client = new Client(origin, {
    ...(options as Client.Options),
    connect: (opts: object, callback: (err: Error | null, socket: unknown) => void) =>
      connect(opts, (err, socket) => {
        h2 = !err && (socket as TLSSocket).alpnProtocol === 'h2';
        callback(err, socket);
      }),
  } as Client.Options);
  client.on('connect', () => {
    client.pipelining = h2 ? H2_STREAMS_PER_CONNECTION : 1;
  });
  return client;
}

/** A DNS lookup that always answers the address that was checked (no rebinding after the check). */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

function upstreamFailure(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  if (err instanceof KeyvaultError) return notSent(err);
  const code = (err as { code?: unknown } | null)?.code;
  const failure =
    err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError
      ? new UpstreamFailure('upstream_timeout', 'The upstream did not answer in time.')
      : new UpstreamFailure('upstream_unreachable', 'The upstream could not be reached.');
  failure.requestSent = !(typeof code === 'string' && NOT_SENT_CODES.has(code));
  return failure;
}

/** The same refusal, marked as never having reached the upstream. */
function notSent(err: KeyvaultError): UpstreamFailure {
  const failure = new UpstreamFailure(err.code, err.message, err.param);
  if (err.headers) failure.withHeaders(err.headers);
  failure.requestSent = false;
  return failure;
}

const trimSlash = (path: string): string => path.replace(/\/+$/, '');
