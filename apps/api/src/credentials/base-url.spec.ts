import { describe, expect, it } from 'vitest';
import { KeyvaultError } from '@keyvault/errors';
import { checkBaseUrl } from './base-url';

// A stand-in resolver: no test may reach a DNS server or any non-loopback address.
const dns = (answers: Record<string, string[]>) => async (host: string) => answers[host] ?? [];

describe('checkBaseUrl', () => {
  it('refuses a public name that resolves to a private address', async () => {
    const err = await checkBaseUrl('https://rebind.example/v1', { allowPrivate: false, resolve: dns({ 'rebind.example': ['10.1.2.3'] }) }).catch((e) => e);
    expect(err).toBeInstanceOf(KeyvaultError);
    expect(err).toMatchObject({ code: 'unsafe_url', param: 'base_url' });
    expect(err.message).toContain('private_address');
  });

  it('refuses a name that does not resolve', async () => {
    const err = await checkBaseUrl('https://nowhere.example', { allowPrivate: false, resolve: dns({}) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'unsafe_url', message: expect.stringContaining('unresolvable') });
  });

  it('accepts a public https host and drops trailing slashes', async () => {
    const url = await checkBaseUrl('https://api.groq.example/openai/v1/', { allowPrivate: false, resolve: dns({ 'api.groq.example': ['8.8.4.4'] }) });
    expect(url).toBe('https://api.groq.example/openai/v1');
  });

  it('never echoes the URL, which may carry credentials', async () => {
    const err = await checkBaseUrl('https://user:hunter2secret@api.example', { allowPrivate: false, resolve: dns({}) }).catch((e) => e);
    expect(err.code).toBe('unsafe_url');
    expect(err.message).not.toContain('hunter2secret');
  });
});
