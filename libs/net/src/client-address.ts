import { BlockList, isIP } from 'node:net';

/**
 * The reverse proxies (KEYVAULT_TRUSTED_PROXIES) whose X-Forwarded-For is believed. Empty: the
 * client is the TCP peer, and X-Forwarded-For is ignored (anyone can write it).
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly any: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [ip, prefix] = entry.split('/');
      const type = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(ip, type);
      else this.list.addSubnet(ip, Number(prefix), type);
    }
    this.any = entries.length > 0;
  }

  trusts(address: string): boolean {
    const ip = plain(address);
    const family = isIP(ip);
    return family !== 0 && this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Who is calling: the TCP peer, unless it is a trusted proxy; then X-Forwarded-For is read
   * from the right, skipping trusted proxies, and the first address not trusted is the client
   * (entries further left were written by the client itself and prove nothing).
   */
  clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let client = plain(peer ?? '') || 'unknown';
    if (!this.any || !this.trusts(client) || !forwardedFor) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => plain(h.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!isIP(hops[i])) break; // a malformed hop: the last trusted one is all we know
      client = hops[i];
      if (!this.trusts(client)) break;
    }
    return client;
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; `[::1]` and zone ids trimmed. */
function plain(address: string): string {
  let a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1];
  return a;
}

/**
 * What failed authentications are counted against: the IPv4 address, or the IPv6 /64 (one
 * subscriber usually holds a whole /64, so counting single IPv6 addresses counts nothing).
 */
export function addressBucket(address: string): string {
  const a = plain(address);
  if (isIP(a) !== 6) return a;
  const [head, tail = ''] = a.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
