import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { PriceBook } from '@keyvault/policy';
import { TwilioAdapter } from './twilio.adapter';
import type { OutgoingHeaders, VendorCall } from './vendor-adapter';

const adapter = new TwilioAdapter(PriceBook.load());
const SID = 'AC' + 'a1'.repeat(16);
const OTHER = 'AC' + '0'.repeat(32);
const messages = `/2010-04-01/Accounts/${OTHER}/Messages.json`;
const call = (method: string, path: string, form: Record<string, string | string[]> = {}): VendorCall => {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  return { method, path, query: '', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(body.toString()), credential: { vendor: 'twilio', baseUrl: null } };
};
const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

describe('TwilioAdapter', () => {
  it('sends ACCOUNT_SID:AUTH_TOKEN (or an API key pair) as Basic auth', () => {
    const headers: OutgoingHeaders = {};
    adapter.authorize(headers, new Secret(`${SID}:token123`));
    expect(headers.authorization).toBe(basic(SID, 'token123'));
    const sk = 'SK' + 'b2'.repeat(16);
    adapter.authorize(headers, new Secret(`${SID}:${sk}:keysecret`));
    expect(headers.authorization).toBe(basic(sk, 'keysecret'));
  });

  it.each(['just-a-token', `${SID}:`, 'ACnothex:token', `${SID}:SKshort:secret`, `${SID}:a:b:c`])('fails the call on a malformed profile key (%s)', (key) => {
    expect(() => adapter.authorize({}, new Secret(key))).toThrow(expect.objectContaining({ code: 'upstream_unreachable' }));
  });

  it("puts the key's own account SID in the path, whatever SID the client named", () => {
    const key = new Secret(`${SID}:token`);
    expect(adapter.pathFor(messages, key)).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(adapter.pathFor(`/2010-04-01/Accounts/ACsubaccount/Calls/CA1.json`, key)).toBe(`/2010-04-01/Accounts/${SID}/Calls/CA1.json`);
    expect(adapter.pathFor(`/2010-04-01/Accounts/${OTHER}.json`, key)).toBe(`/2010-04-01/Accounts/${SID}.json`);
    expect(adapter.pathFor(messages, new Secret(`${SID}:SK${'c3'.repeat(16)}:s`))).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
  });

  it.each(['/2010-04-01/Accounts.json', '/2010-04-01/Accounts', '/2010-04-01/Accounts/', `/2010-04-01/Accounts/${OTHER}`, `/2010-04-01/Accounts/${OTHER}.xml`, '/v1/Services', '/2008-08-01/Accounts/AC1/SMS/Messages.json', '/'])(
    'refuses a path outside the account (%s) with 403 endpoint_not_allowed',
    (path) => {
      for (const method of ['GET', 'POST']) {
        expect(() => adapter.prepare(call(method, path, { To: '+15005550006', Body: 'hi' }))).toThrow(expect.objectContaining({ code: 'endpoint_not_allowed' }));
      }
    },
  );

  it.each([
    ['Hello from Keyvault', 1],
    ['a'.repeat(160), 1],
    ['a'.repeat(161), 2],
    ['ç'.repeat(70), 1],
    ['ç'.repeat(71), 2],
    ['😀'.repeat(100), 4],
  ])('prices an SMS by its segments: %#', (body, segments) => {
    expect(adapter.prepare(call('POST', messages, { To: '+15005550006', From: '+15005550001', Body: body }))).toEqual({ costNanos: BigInt(segments) * 8_300_000n });
  });

  it('prices a message with media as one MMS, and refuses it when no MMS price is configured', () => {
    const mms = { To: '+15005550006', Body: 'a'.repeat(500), MediaUrl: ['https://example.com/a.png', 'https://example.com/b.png'] };
    expect(adapter.prepare(call('POST', messages, mms))).toEqual({ costNanos: 22_000_000n });
    const overrides = join(mkdtempSync(join(tmpdir(), 'kv-prices-')), 'prices.json');
    writeFileSync(overrides, JSON.stringify({ twilio: { usd_per_mms: null } }));
    const noMms = new TwilioAdapter(PriceBook.load(overrides));
    expect(() => noMms.prepare(call('POST', messages, mms))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: 'MediaUrl' }));
    expect(noMms.prepare(call('POST', messages, { To: '+15005550006', Body: 'hi' }))).toEqual({ costNanos: 8_300_000n });
  });

  it.each([
    [{ To: 'whatsapp:+15005550006', Body: 'hi' }, 'To'],
    [{ To: '+15005550006', ContentSid: 'HX123' }, 'ContentSid'],
    [{ To: '+15005550006' }, 'Body'],
  ])('refuses a message it cannot price by segment: %j', (form, param) => {
    expect(() => adapter.prepare(call('POST', messages, form))).toThrow(expect.objectContaining({ code: 'unpriced_request', param }));
  });

  it('lets reads, deletions and message updates through for free; other writes are unpriced', () => {
    expect(adapter.prepare(call('GET', messages))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('GET', `/2010-04-01/Accounts/${OTHER}.json`))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('DELETE', `/2010-04-01/Accounts/${OTHER}/Messages/SM1.json`))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('POST', `/2010-04-01/Accounts/${OTHER}/Messages/SM1.json`, { Body: '' }))).toEqual({ costNanos: 0n });
    for (const path of ['/Calls.json', '/IncomingPhoneNumbers.json', '.json', '/Messages.xml']) {
      expect(() => adapter.prepare(call('POST', `/2010-04-01/Accounts/${OTHER}${path}`, { To: '+1', Body: 'x' }))).toThrow(expect.objectContaining({ code: 'unpriced_request' }));
    }
  });
});
