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
 * Connections to vendors: one keep-alive undici Pool per origin (per pinned address for a
 * profile's own base_url). A deployment's KEYVAULT_UPSTREAM_<VENDOR> is trusted as configured;
 * a profile's base_url is user input, so it is resolved and checked at call time
 * (resolveSafeTarget) and the connection goes to the address that was checked.
 */
@Injectable()
export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  constructor(@Inject(PROXY_CONFIG) private readonly config: ProxyConfig) {}

  async target(vendor: string, baseUrl: string | null): Promise<UpstreamTarget> {
    if (baseUrl === null) {
      if (vendor === 'openai_compatible') throw new KeyvaultError('upstream_unreachable', 'This credential profile names no base_url.');
      const url = new URL(upstreamFor(this.config, vendor as Exclude<Vendor, 'openai_compatible'>));
      return { pool: this.pool(url.origin, null), basePath: trimSlash(url.pathname) };
    }
    let checked: { url: URL; address: string };
    try {
      checked = await resolveSafeTarget(baseUrl, { allowPrivate: this.config.KEYVAULT_ALLOW_PRIVATE_UPSTREAMS });
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new KeyvaultError('upstream_unreachable', `The profile's base_url was refused: ${err.message}.`);
      throw err;
    }
    return { pool: this.pool(checked.url.origin, checked.address), basePath: trimSlash(checked.url.pathname) };
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
