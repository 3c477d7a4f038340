import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeEntries, PriceBook } from './price-book';

const book = PriceBook.load();

function overridesFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'kv-prices-'));
  const file = join(dir, 'prices.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('PriceBook', () => {
  it.each([
    ['openai', 'gpt-4o'],
    ['openai', 'gpt-4o-mini'],
    ['openai', 'gpt-4.1'],
    ['openai', 'gpt-4.1-mini'],
    ['openai', 'o3-mini'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['anthropic', 'claude-haiku-4-5'],
    ['anthropic', 'claude-opus-4-1'],
    ['openai_compatible', 'llama-3.1-8b-instant'],
  ] as const)('ships a price for %s %s', (vendor, model) => {
    const p = book.model(vendor, model);
    expect(p).toBeDefined();
    expect(p!.inputNanosPerToken).toBeGreaterThan(0n);
    expect(p!.maxOutputTokens).toBeGreaterThan(0);
  });

  it('resolves dated snapshots and -latest aliases to their family, nothing else', () => {
    expect(book.model('openai', 'gpt-4o-2024-08-06')?.model).toBe('gpt-4o');
    expect(book.model('anthropic', 'claude-sonnet-4-5-20250929')?.model).toBe('claude-sonnet-4-5');
    expect(book.model('anthropic', 'claude-3-5-haiku-latest')?.model).toBe('claude-3-5-haiku');
    expect(book.model('openai', 'gpt-4o-turbo-ultra')).toBeUndefined();
    expect(book.model('openai', 'claude-sonnet-4-5')).toBeUndefined();
    expect(book.model('openai', '')).toBeUndefined();
  });

  it('prices tokens exactly in nano-dollars: usage × price, never rounded', () => {
    const mini = book.model('openai', 'gpt-4o-mini')!; // $0.15 in, $0.60 out per million: 150 and 600 n$ a token
    expect(mini).toMatchObject({ inputNanosPerToken: 150n, outputNanosPerToken: 600n });
    expect(book.tokenCost(mini, 1_000_000, 0)).toBe(150_000_000n);
    expect(book.tokenCost(mini, 0, 1_000_000)).toBe(600_000_000n);
    expect(book.tokenCost(mini, 12, 3)).toBe(3_600n); // 3.6 nano-dollars, exactly
    expect(book.tokenCost(mini, 10, 20)).toBe(13_500n); // the 13.5 µ$ chat
    expect(book.tokenCost(mini, 0, 0)).toBe(0n);
    const gpt4o = book.model('openai', 'gpt-4o')!; // $2.50 / $10
    expect(book.tokenCost(gpt4o, 1000, 1000)).toBe(12_500_000n);
    // an embedding of 10 tokens at $0.02 per million: 0.2 nano-dollars, not a whole nano-dollar
    expect(book.tokenCost(book.model('openai', 'text-embedding-3-small')!, 10, 0)).toBe(200n);
  });

  it('prices prompt-cache tokens at their own rates, or at the input price when a model has none', () => {
    const sonnet = book.model('anthropic', 'claude-sonnet-4-5')!; // $3 in, $15 out, $3.75 / $6 cache writes, $0.30 reads
    expect(book.tokensCost(sonnet, { input: 1_000_000, output: 0 })).toBe(3_000_000_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheWrite: 1_000_000 })).toBe(3_750_000_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheWrite1h: 1_000_000 })).toBe(6_000_000_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheRead: 1_000_000 })).toBe(300_000_000n);
    expect(book.tokensCost(sonnet, { input: 10, output: 10, cacheWrite: 10, cacheWrite1h: 10, cacheRead: 10 })).toBe(280_500n); // 280.5 nano-dollars, exactly
    expect(book.tokensCost(sonnet, { input: 12, output: 3 })).toBe(book.tokenCost(sonnet, 12, 3));
    const plain = book.model('openai', 'gpt-4o')!;
    expect(book.tokensCost(plain, { input: 0, output: 0, cacheWrite: 1_000_000, cacheWrite1h: 1_000_000, cacheRead: 1_000_000 })).toBe(7_500_000_000n);
  });

  it('prices SMS segments, MMS and emails, and refuses MMS when the deployment sets no price', () => {
    expect(book.smsSegmentNanos).toBe(8_300_000n);
    expect(book.mmsNanos).toBe(22_000_000n);
    expect(book.emailNanos).toBe(900_000n);
    expect(PriceBook.load(overridesFile({ twilio: { usd_per_mms: null } })).mmsNanos).toBeNull();
    expect(book.isFree('twilio', 'GET', '/2010-04-01/Accounts/AC1/Messages.json')).toBe(true);
    expect(book.isFree('twilio', 'POST', '/2010-04-01/Accounts/AC1/Messages.json')).toBe(false);
    expect(book.isFree('resend', 'POST', '/emails')).toBe(false);
    expect(book.isFree('resend', 'POST', '/emails/e_1/cancel')).toBe(true);
  });

  it('knows free endpoints per vendor', () => {
    expect(book.isFree('openai', 'GET', '/v1/models')).toBe(true);
    expect(book.isFree('openai', 'GET', '/v1/models/gpt-4o')).toBe(true);
    expect(book.isFree('openai', 'POST', '/v1/chat/completions')).toBe(false);
    expect(book.isFree('stripe', 'GET', '/v1/charges')).toBe(true);
    expect(book.isFree('stripe', 'POST', '/v1/invoices/in_1/pay')).toBe(false);
  });

  it('lists the Stripe calls that move money', () => {
    expect(book.isMoneyMoving('POST', '/v1/payment_intents')).toBe(true);
    expect(book.isMoneyMoving('POST', '/v1/charges')).toBe(true);
    expect(book.isMoneyMoving('GET', '/v1/payment_intents')).toBe(false);
    expect(book.isMoneyMoving('POST', '/v1/customers')).toBe(false);
  });

  it('converts currency amounts with a configured rate only (USD by default)', () => {
    expect(book.currencyAmountNanos('usd', 100n)).toBe(1_000_000_000n);
    expect(book.currencyAmountNanos('USD', 1n)).toBe(10_000_000n);
    expect(book.currencyAmountNanos('eur', 100n)).toBeUndefined();
    expect(book.currencyAmountNanos('usd', -1n)).toBeUndefined();
  });

  it('merges a deployment overrides file entry by entry', () => {
    const b = PriceBook.load(
      overridesFile({
        openai: { models: { 'gpt-4o': { input_usd_per_mtok: 5 }, 'my-finetune': { input_usd_per_mtok: 1, output_usd_per_mtok: 2, max_output_tokens: 100 } } },
        stripe: { currencies: { eur: { usd_per_unit: 1.08, minor_unit_digits: 2 }, jpy: { usd_per_unit: 0.0067, minor_unit_digits: 0 } } },
      }),
    );
    expect(b.model('openai', 'gpt-4o')).toMatchObject({ inputNanosPerToken: 5_000n, outputNanosPerToken: 10_000n });
    expect(b.model('openai', 'my-finetune')?.maxOutputTokens).toBe(100);
    expect(b.model('openai', 'gpt-4o-mini')).toBeDefined();
    expect(b.currencyAmountNanos('eur', 1000n)).toBe(10_800_000_000n);
    expect(b.currencyAmountNanos('jpy', 1000n)).toBe(6_700_000_000n);
    expect(b.currencyAmountNanos('usd', 100n)).toBe(1_000_000_000n);
  });

  it.each([
    ['not json', /not readable JSON/],
    [{ openai: { models: { x: { input_usd_per_mtok: -1, output_usd_per_mtok: 1, max_output_tokens: 1 } } } }, /openai\.models\.x\.input_usd_per_mtok/],
    [{ openai: { models: { x: { input_usd_per_mtok: 0.0375, output_usd_per_mtok: 1, max_output_tokens: 1 } } } }, /openai\.models\.x\.input_usd_per_mtok at most 3 decimals/],
    [{ openai: { models: { x: { input_usd_per_mtok: 0.1 + 0.2, output_usd_per_mtok: 1, max_output_tokens: 1 } } } }, /3 decimals/],
    [{ twilio: { usd_per_sms_segment: 0.0000000001 } }, /twilio\.usd_per_sms_segment at most 9 decimals/],
    [{ stripe: { currencies: { eur: { usd_per_unit: 1.123456789, minor_unit_digits: 2 } } } }, /stripe\.currencies\.eur\.usd_per_unit must come to whole nano-dollars/],
    [{ stripe: { money_moving_endpoints: ['payment_intents'] } }, /stripe\.money_moving_endpoints/],
  ])('refuses a bad overrides file %#', (content, message) => {
    expect(() => PriceBook.load(overridesFile(content))).toThrow(message);
  });

  it('takes the finest token price on the grid: $0.001 per million tokens is 1 nano-dollar a token', () => {
    const b = PriceBook.load(overridesFile({ openai: { models: { tiny: { input_usd_per_mtok: 0.001, output_usd_per_mtok: 0.035, max_output_tokens: 1 } } } }));
    expect(b.model('openai', 'tiny')).toMatchObject({ inputNanosPerToken: 1n, outputNanosPerToken: 35n });
  });

  it('mergeEntries: objects merge, other values replace', () => {
    expect(mergeEntries({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9], n: 1 })).toEqual({ a: { b: 1, c: 3 }, l: [9], n: 1 });
  });
});
