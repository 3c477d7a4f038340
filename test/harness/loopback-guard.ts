import dns from 'node:dns';
import dnsPromises from 'node:dns/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

/** Hosts a test process may connect to or resolve: this machine only. */
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost)$/i;

export interface LoopbackGuard {
  /** every connection the process attempted while guarded (host:port, or a socket path) */
  connects: string[];
  /** the ones refused: anything not on loopback */
  refused: string[];
  /** every name the process resolved while guarded */
  lookups: string[];
  restore(): void;
}

/**
 * Makes this process unable to reach anything but loopback while a test runs: every outgoing
 * TCP connection (node:net, which http, https, undici and pg all use) and every DNS lookup is
 * recorded, and one aimed anywhere else fails at once, before a packet leaves. Tests that feed
 * user-controlled URLs to the api (fuzzing, SSRF) run under it, so no input can make the api
 * reach out, and they can prove what was attempted.
 */
export function guardLoopbackOnly(): LoopbackGuard {
  const guard: LoopbackGuard = { connects: [], refused: [], lookups: [], restore: () => undefined };
  const originalConnect = net.Socket.prototype.connect;
  const originalLookup = dns.lookup;
  const originalPromisesLookup = dnsPromises.lookup;

  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its normalised arguments as one array
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options = (typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }) as { host?: string; port?: unknown; path?: string };
    const target = options.path ?? `${options.host ?? 'localhost'}:${String(options.port)}`;
    guard.connects.push(target);
    if (options.path === undefined && !LOOPBACK.test(String(options.host ?? 'localhost').replace(/^\[|\]$/g, ''))) {
      guard.refused.push(target);
      process.nextTick(() => this.destroy(Object.assign(new Error(`test guard: no connection to ${target}`), { code: 'ECONNREFUSED' })));
      return this;
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  const refuseName = (host: string) => Object.assign(new Error(`test guard: no DNS for ${host}`), { code: 'ENOTFOUND', hostname: host });
  dns.lookup = function guardedLookup(host: string, ...rest: unknown[]) {
    guard.lookups.push(host);
    const callback = rest.at(-1) as (err: Error | null) => void;
    if (!LOOPBACK.test(host) && net.isIP(host) === 0) return void process.nextTick(() => callback(refuseName(host)));
    return (originalLookup as (...a: unknown[]) => void)(host, ...rest);
  } as typeof dns.lookup;
  dnsPromises.lookup = async function guardedPromisesLookup(host: string, ...rest: unknown[]) {
    guard.lookups.push(host);
    if (!LOOPBACK.test(host) && net.isIP(host) === 0) throw refuseName(host);
    return (originalPromisesLookup as (...a: unknown[]) => Promise<unknown>)(host, ...rest);
  } as typeof dnsPromises.lookup;
  // code that imported the functions by name (ES modules) sees the patched ones too
  syncBuiltinESMExports();

  guard.restore = () => {
    net.Socket.prototype.connect = originalConnect;
    dns.lookup = originalLookup;
    dnsPromises.lookup = originalPromisesLookup;
    syncBuiltinESMExports();
  };
  return guard;
}
