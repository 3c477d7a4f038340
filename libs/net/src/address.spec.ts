import { describe, expect, it } from 'vitest';
import { isPublicAddress } from './address';
import { resolveSafeTarget, UnsafeUrlError } from './safe-url';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '2002:a9fe:a9fe::1', '::127.0.0.1',
  ])('refuses %s', (ip) => expect(isPublicAddress(ip)).toBe(false));

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('accepts %s', (ip) =>
    expect(isPublicAddress(ip)).toBe(true),
  );

  it('refuses what is not an address', () => expect(isPublicAddress('example.com')).toBe(false));
});

describe('resolveSafeTarget', () => {
  const fakeDns = (answers: Record<string, string[]>) => async (host: string) => answers[host] ?? [];

  it.each([
    ['http://api.example.com', 'not_https'],
    ['ftp://api.example.com', 'not_https'],
    ['https://user:pw@api.example.com', 'credentials_in_url'],
    ['not a url', 'invalid_url'],
    ['https://127.0.0.1/v1', 'private_address'],
    ['https://[::1]/v1', 'private_address'],
    ['https://169.254.169.254/latest/meta-data', 'private_address'],
    ['https://[::ffff:169.254.169.254]/', 'private_address'],
    ['https://rebind.example/v1', 'private_address'],
    ['https://mixed.example/v1', 'private_address'],
    ['https://nowhere.example/v1', 'unresolvable'],
  ])('refuses %s (%s) without connecting', async (url, reason) => {
    const resolve = fakeDns({ 'rebind.example': ['10.0.0.5'], 'mixed.example': ['8.8.8.8', '192.168.0.10'] });
    await expect(resolveSafeTarget(url, { allowPrivate: false, resolve })).rejects.toMatchObject({ reason });
    await expect(resolveSafeTarget(url, { allowPrivate: false, resolve })).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it('accepts a public https host and returns the address to pin', async () => {
    const r = await resolveSafeTarget('https://api.groq.example/openai/v1', { allowPrivate: false, resolve: fakeDns({ 'api.groq.example': ['8.8.4.4'] }) });
    expect(r.address).toBe('8.8.4.4');
  });

  it('allows loopback http only when private upstreams are allowed', async () => {
    const r = await resolveSafeTarget('http://127.0.0.1:9000', { allowPrivate: true });
    expect(r.address).toBe('127.0.0.1');
  });
});
