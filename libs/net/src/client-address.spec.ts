import { describe, expect, it } from 'vitest';
import { addressBucket, TrustedProxies } from './client-address';

describe('TrustedProxies.clientAddress', () => {
  const lb = new TrustedProxies(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);

  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(new TrustedProxies([]).clientAddress('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(new TrustedProxies([]).clientAddress('::ffff:203.0.113.5', undefined)).toBe('203.0.113.5');
  });

  it('is the TCP peer when that peer is not trusted', () => expect(lb.clientAddress('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5'));

  it('is the rightmost untrusted hop behind trusted proxies', () => {
    expect(lb.clientAddress('10.0.0.2', '198.51.100.1')).toBe('198.51.100.1');
    expect(lb.clientAddress('::ffff:10.0.0.2', 'spoofed-by-client, 203.0.113.9, 198.51.100.1, 192.0.2.1')).toBe('198.51.100.1');
    expect(lb.clientAddress('10.0.0.2', ['203.0.113.9', '198.51.100.1 , 10.9.9.9'])).toBe('198.51.100.1');
    expect(lb.clientAddress('fd00::1', '2001:db8::5')).toBe('2001:db8::5');
  });

  it('stops at a malformed hop, and falls back to the last trusted one', () => {
    expect(lb.clientAddress('10.0.0.2', 'garbage')).toBe('10.0.0.2');
    expect(lb.clientAddress('10.0.0.2', '10.0.0.3, 10.0.0.4')).toBe('10.0.0.3');
    expect(lb.clientAddress('10.0.0.2', '')).toBe('10.0.0.2');
  });
});

describe('addressBucket', () => {
  it('keeps IPv4 addresses whole, mapped or not', () => {
    expect(addressBucket('198.51.100.7')).toBe('198.51.100.7');
    expect(addressBucket('::ffff:198.51.100.7')).toBe('198.51.100.7');
  });
  it('counts IPv6 per /64', () => {
    expect(addressBucket('2001:db8:aa:1::1')).toBe('2001:db8:aa:1::/64');
    expect(addressBucket('2001:0DB8:00aa:0001:ffff:ffff:ffff:fffe')).toBe('2001:db8:aa:1::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('2001:db8:aa:2::1')).not.toBe(addressBucket('2001:db8:aa:1::1'));
  });
});
