import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { PriceBook } from '@keyvault/policy';
import { ResendAdapter } from './resend.adapter';
import type { OutgoingHeaders, PreparedCall, VendorCall } from './vendor-adapter';

const adapter = new ResendAdapter(PriceBook.load());
const EMAIL = 900_000n; // $0.0009
const call = (method: string, path: string, body: unknown = ''): VendorCall => ({
  method,
  path,
  query: '',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  credential: { vendor: 'resend', baseUrl: null },
});
const email = (fields: Record<string, unknown>) => ({ from: 'Acme <onboarding@resend.dev>', subject: 'hi', html: '<p>hi</p>', ...fields });
const settle = (prepared: PreparedCall, status: number, answer: unknown) => {
  const meter = prepared.meter!({ status, headers: {} });
  meter.transform(Buffer.from(JSON.stringify(answer)));
  return meter.finish().costNanos;
};

describe('ResendAdapter', () => {
  it('sends the real key as Bearer', () => {
    const headers: OutgoingHeaders = {};
    adapter.authorize(headers, new Secret('re_real'));
    expect(headers.authorization).toBe('Bearer re_real');
  });

  it.each([
    [{ to: 'a@x.io' }, 1],
    [{ to: ['a@x.io'] }, 1],
    [{ to: ['a@x.io', 'b@x.io'], cc: 'c@x.io' }, 3],
    [{ to: 'a@x.io', cc: ['c@x.io', 'd@x.io'], bcc: ['e@x.io', 'f@x.io', 'g@x.io'] }, 6],
    [{ to: 'a@x.io, b@x.io,c@x.io' }, 3],
    [{ to: 'A <a@x.io>', cc: [], bcc: null }, 1],
  ])('counts every recipient of an email as one: %j', (fields, n) => {
    expect(adapter.prepare(call('POST', '/emails', email(fields)))).toEqual({ costNanos: BigInt(n) * EMAIL });
  });

  it.each([
    [{}, 'to'],
    [{ to: [] }, 'to'],
    [{ to: '' }, 'to'],
    [{ to: 42 }, 'to'],
    [{ to: 'a@x.io', cc: [{ email: 'c@x.io' }] }, 'cc'],
  ])('refuses an email whose recipients cannot be counted: %j', (fields, param) => {
    expect(() => adapter.prepare(call('POST', '/emails', email(fields)))).toThrow(expect.objectContaining({ code: 'unpriced_request', param }));
  });

  it('sums a batch over its emails, and settles a permissive batch to the emails that were sent', () => {
    const batch = [email({ to: 'a@x.io' }), email({ to: ['b@x.io', 'c@x.io'], bcc: 'd@x.io' }), email({ to: 'e@x.io', cc: 'f@x.io' })];
    const prepared = adapter.prepare(call('POST', '/emails/batch', batch));
    expect(prepared.costNanos).toBe(6n * EMAIL);
    expect(settle(prepared, 200, { data: [{ id: '1' }, { id: '2' }, { id: '3' }] })).toBe(6n * EMAIL);
    // permissive mode: the second email failed validation and was not sent
    expect(settle(prepared, 200, { data: [{ id: '1' }, { id: '3' }], errors: [{ index: 1, message: 'Invalid `to` field.' }] })).toBe(3n * EMAIL);
    expect(settle(prepared, 200, { id: 'not a batch answer' })).toBeNull();
    expect(settle(prepared, 422, { statusCode: 422, name: 'validation_error' })).toBe(0n);
  });

  it('refuses a batch that is not an array of emails with recipients', () => {
    expect(() => adapter.prepare(call('POST', '/emails/batch', email({ to: 'a@x.io' })))).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    expect(() => adapter.prepare(call('POST', '/emails/batch', [email({ to: 'a@x.io' }), 'x']))).toThrow(expect.objectContaining({ code: 'invalid_json', param: '[1]' }));
    expect(() => adapter.prepare(call('POST', '/emails/batch', [email({ to: 'a@x.io' }), email({})]))).toThrow(expect.objectContaining({ code: 'unpriced_request', param: '[1].to' }));
  });

  it('lets reads, deletions, rescheduling and cancelling through for free; other writes are unpriced', () => {
    for (const [method, path] of [['GET', '/emails/e_1'], ['GET', '/domains'], ['DELETE', '/domains/d_1'], ['PATCH', '/emails/e_1'], ['POST', '/emails/e_1/cancel']]) {
      expect(adapter.prepare(call(method, path, method === 'PATCH' ? { scheduled_at: 'in 1 hour' } : ''))).toEqual({ costNanos: 0n });
    }
    for (const path of ['/broadcasts', '/broadcasts/b_1/send', '/api-keys', '/domains']) {
      expect(() => adapter.prepare(call('POST', path, {}))).toThrow(expect.objectContaining({ code: 'unpriced_request' }));
    }
    expect(() => adapter.prepare(call('POST', '/emails', '{nope'))).toThrow(expect.objectContaining({ code: 'invalid_json' }));
  });
});
