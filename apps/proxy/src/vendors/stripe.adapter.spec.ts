import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { PriceBook } from '@keyvault/policy';
import { StripeAdapter } from './stripe.adapter';
import type { OutgoingHeaders, VendorCall } from './vendor-adapter';

const adapter = new StripeAdapter(PriceBook.load());
const call = (method: string, path: string, body = '', type = 'application/x-www-form-urlencoded'): VendorCall => ({
  method,
  path,
  query: '',
  headers: { 'content-type': type },
  body: Buffer.from(body),
  credential: { vendor: 'stripe', baseUrl: null },
});

describe('StripeAdapter', () => {
  it('sends the real key as Bearer', () => {
    const headers: OutgoingHeaders = {};
    adapter.authorize(headers, new Secret('sk_live_x'));
    expect(headers.authorization).toBe('Bearer sk_live_x');
  });

  it('counts the amount of a money-moving call in USD nano-dollars, exactly', () => {
    const cost = (body: string, type?: string, path = '/v1/payment_intents') => adapter.prepare(call('POST', path, body, type)).costNanos;
    expect(cost('amount=1999&currency=usd&metadata[order]=1')).toBe(19_990_000_000n);
    expect(cost('amount=100&currency=USD', undefined, '/v1/charges')).toBe(1_000_000_000n);
    expect(cost(JSON.stringify({ amount: 50, currency: 'usd' }), 'application/json')).toBe(500_000_000n);
  });

  it('books an answer Stripe replayed for an idempotency key at 0, a first answer at the amount, an error at 0', () => {
    const { meter } = adapter.prepare(call('POST', '/v1/payment_intents', 'amount=1999&currency=usd'));
    const booked = (status: number, headers: Record<string, string> = {}) => meter!({ status, headers }).finish().costNanos;
    expect(booked(200)).toBe(19_990_000_000n);
    expect(booked(200, { 'idempotent-replayed': 'true' })).toBe(0n);
    expect(booked(402)).toBe(0n);
  });

  it('is default deny: calls neither free nor priced from an amount are refused as unpriced', () => {
    for (const [method, path] of [['POST', '/v1/invoices/in_1/pay'], ['POST', '/v1/subscriptions'], ['POST', '/v1/payment_intents/pi_1/confirm'], ['DELETE', '/v1/whatever']]) {
      expect(() => adapter.prepare(call(method, path, ''))).toThrow(expect.objectContaining({ code: 'unpriced_request' }));
    }
  });

  it('prices a payment intent update by its new amount, and one that sets none at 0', () => {
    expect(adapter.prepare(call('POST', '/v1/payment_intents/pi_1', 'amount=5000&currency=usd')).costNanos).toBe(50_000_000_000n);
    expect(adapter.prepare(call('POST', '/v1/payment_intents/pi_1', 'description=x')).costNanos).toBe(0n);
  });

  it('prices top-ups and Treasury outbound transfers from their amount', () => {
    expect(adapter.prepare(call('POST', '/v1/topups', 'amount=10000&currency=usd')).costNanos).toBe(100_000_000_000n);
    expect(adapter.prepare(call('POST', '/v1/treasury/outbound_transfers', 'amount=250&currency=usd&financial_account=fa_1')).costNanos).toBe(2_500_000_000n);
  });

  it('prices a Checkout Session as the sum of its line items, and refuses a stored price it cannot see', () => {
    const body = new URLSearchParams({
      mode: 'payment',
      'line_items[0][price_data][unit_amount]': '2000',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][product_data][name]': 'T-shirt',
      'line_items[0][quantity]': '3',
      'line_items[1][price_data][unit_amount]': '500',
      'line_items[1][price_data][currency]': 'usd',
    }).toString();
    expect(adapter.prepare(call('POST', '/v1/checkout/sessions', body)).costNanos).toBe(65_000_000_000n);
    expect(() => adapter.prepare(call('POST', '/v1/checkout/sessions', 'line_items[0][price]=price_1&line_items[0][quantity]=1'))).toThrow(
      expect.objectContaining({ code: 'unpriced_request', param: 'line_items[0][price]' }),
    );
  });

  it('refuses a body that repeats a money field', () => {
    expect(() => adapter.prepare(call('POST', '/v1/payment_intents', 'amount=1&currency=usd&amount=50000'))).toThrow(expect.objectContaining({ code: 'parameter_invalid', param: 'amount' }));
    expect(() => adapter.prepare(call('POST', '/v1/payment_intents', 'amount=1&currency=usd&currency=eur'))).toThrow(expect.objectContaining({ param: 'currency' }));
  });

  it('costs nothing for calls that move no money', () => {
    expect(adapter.prepare(call('GET', '/v1/payment_intents'))).toEqual({ costNanos: 0n });
    expect(adapter.prepare(call('POST', '/v1/customers', 'email=a@b.c'))).toEqual({ costNanos: 0n });
  });

  it.each([
    ['currency=usd', 'amount'],
    ['amount=-5&currency=usd', 'amount'],
    ['amount=1.5&currency=usd', 'amount'],
    ['amount=100', 'currency'],
    ['amount=100&currency=eur', 'currency'],
  ])('refuses %s as unpriced (%s)', (body, param) => {
    expect(() => adapter.prepare(call('POST', '/v1/payment_intents', body))).toThrow(expect.objectContaining({ code: 'unpriced_request', param }));
  });
});
