import { Inject, Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { upstreamFor, type ProxyConfig, type Vendor } from '@keyvault/config';
import { KeyvaultError } from '@keyvault/errors';
import { resolveSafeTarget, UnsafeUrlError } from '@keyvault/net';
import { PROXY_CONFIG } from '../proxy.config';
import type { OutgoingHeaders } from '../vendors/vendor-adapter';

/** Where one call goes: a keep-alive pool for the origin, and the base URL's path prefix. */
export interface UpstreamTarget {
  pool: Pool;
  basePath: string;
}

const MAX_POOLS = 256;
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
  private readonly pools = new Map<string, Pool>();
  private readonly configured = new Map<string, UpstreamTarget>();
  private readonly checked = new Map<string, { target: UpstreamTarget; until: number }>();

  constructor(@Inject(PROXY_CONFIG) private readonly config: ProxyConfig) {}

  async target(vendor: string, baseUrl: string | null): Promise<UpstreamTarget> {
    if (baseUrl === null) {
      let target = this.configured.get(vendor);
      // a pool evicted to make room for others is closed: build a fresh one
      if (!target || target.pool.closed) {
        if (vendor === 'openai_compatible') throw new KeyvaultError('upstream_unreachable', 'This credential profile names no base_url.');
        const url = new URL(upstreamFor(this.config, vendor as Exclude<Vendor, 'openai_compatible'>));
        target = { pool: this.pool(url.origin, null), basePath: trimSlash(url.pathname) };
        this.configured.set(vendor, target);
      }
      return target;
    }
    const cached = this.checked.get(baseUrl);
    if (cached && cached.until > Date.now() && !cached.target.pool.closed) return cached.target;
    let safe: { url: URL; address: string };
    try {
      safe = await resolveSafeTarget(baseUrl, { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new KeyvaultError('upstream_unreachable', `The profile's base_url was refused: ${err.message}.`);
      throw err;
    }
    const target = { pool: this.pool(safe.url.origin, safe.address), basePath: trimSlash(safe.url.pathname) };
    if (this.checked.size >= MAX_POOLS) this.checked.delete(this.checked.keys().next().value!);
    this.checked.set(baseUrl, { target, until: Date.now() + CHECKED_TARGET_TTL_MS });
    return target;
  }

  /** Sends one request; maps failures before a response to 502 upstream_unreachable / 504 upstream_timeout. */
  async request(
    target: UpstreamTarget,
    call: { method: string; path: string; query: string; headers: OutgoingHeaders; body: Buffer },
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await target.pool.request({
        method: call.method as Dispatcher.HttpMethod,
        path: target.basePath + call.path + (call.query ? `?${call.query}` : ''),
        headers: call.headers,
        body: call.body.length > 0 || !['GET', 'HEAD'].includes(call.method) ? call.body : undefined,
      });
    } catch (err) {
      throw upstreamFailure(err);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.configured.clear();
    this.checked.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }

  private pool(origin: string, pinnedAddress: string | null): Pool {
    const id = pinnedAddress ? `${origin}@${pinnedAddress}` : origin;
    let pool = this.pools.get(id);
    if (pool) return pool;
    if (this.pools.size >= MAX_POOLS) {
      const [oldestId, oldest] = this.pools.entries().next().value!;
      this.pools.delete(oldestId);
      void oldest.close().catch(() => undefined);
    }
    const timeout = this.config.KEYVAULT_UPSTREAM_TIMEOUT_MS;
    pool = new Pool(origin, {
      connections: 256,
      keepAliveTimeout: 30_000,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout: Math.min(timeout, 10_000), ...(pinnedAddress ? { lookup: pinnedLookup(pinnedAddress) } : {}) },
    });
    this.pools.set(id, pool);
    return pool;
  }
}

/** A DNS lookup that always answers the address that was checked (no rebinding after the check). */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

function upstreamFailure(err: unknown): KeyvaultError {
  if (err instanceof KeyvaultError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new KeyvaultError('upstream_timeout', 'The upstream did not answer in time.');
  }
  return new KeyvaultError('upstream_unreachable', 'The upstream could not be reached.');
}

const trimSlash = (path: string): string => path.replace(/\/+$/, '');
