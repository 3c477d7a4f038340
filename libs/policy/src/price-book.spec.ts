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
    expect(p!.inputMicrosPerMTok).toBeGreaterThan(0n);
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

  it('prices tokens exactly in micro-dollars, rounding up', () => {
    const mini = book.model('openai', 'gpt-4o-mini')!; // $0.15 in, $0.60 out per million
    expect(book.tokenCost(mini, 1_000_000, 0)).toBe(150_000n);
    expect(book.tokenCost(mini, 0, 1_000_000)).toBe(600_000n);
    expect(book.tokenCost(mini, 12, 3)).toBe(4n); // 1.8 + 1.8 = 3.6 micro-dollars → 4
    expect(book.tokenCost(mini, 0, 0)).toBe(0n);
    const gpt4o = book.model('openai', 'gpt-4o')!; // $2.50 / $10
    expect(book.tokenCost(gpt4o, 1000, 1000)).toBe(12_500n);
  });

  it('prices prompt-cache tokens at their own rates, or at the input price when a model has none', () => {
    const sonnet = book.model('anthropic', 'claude-sonnet-4-5')!; // $3 in, $15 out, $3.75 / $6 cache writes, $0.30 reads
    expect(book.tokensCost(sonnet, { input: 1_000_000, output: 0 })).toBe(3_000_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheWrite: 1_000_000 })).toBe(3_750_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheWrite1h: 1_000_000 })).toBe(6_000_000n);
    expect(book.tokensCost(sonnet, { input: 0, output: 0, cacheRead: 1_000_000 })).toBe(300_000n);
    expect(book.tokensCost(sonnet, { input: 10, output: 10, cacheWrite: 10, cacheWrite1h: 10, cacheRead: 10 })).toBe(281n); // 280.5 micro-dollars, rounded up
    expect(book.tokensCost(sonnet, { input: 12, output: 3 })).toBe(book.tokenCost(sonnet, 12, 3));
    const plain = book.model('openai', 'gpt-4o')!;
    expect(book.tokensCost(plain, { input: 0, output: 0, cacheWrite: 1_000_000, cacheWrite1h: 1_000_000, cacheRead: 1_000_000 })).toBe(7_500_000n);
  });

  it('prices SMS segments, MMS and emails, and refuses MMS when the deployment sets no price', () => {
    expect(book.smsSegmentMicros).toBe(8_300n);
    expect(book.mmsMicros).toBe(22_000n);
    expect(book.emailMicros).toBe(900n);
    expect(PriceBook.load(overridesFile({ twilio: { usd_per_mms: null } })).mmsMicros).toBeNull();
    expect(book.isFree('twilio', 'GET', '/2010-04-01/Accounts/AC1/Messages.json')).toBe(true);
    expect(book.isFree('twilio', 'POST', '/2010-04-01/Accounts/AC1/Messages.json')).toBe(false);
    expect(book.isFree('resend', 'POST', '/emails')).toBe(false);
    expect(book.isFree('resend', 'POST', '/emails/e_1/cancel')).toBe(true);
  });

  it('knows free endpoints per vendor', () => {
    expect(book.isFree('openai', 'GET', '/v1/models')).toBe(true);
    expect(book.isFree('openai', 'GET', '/v1/models/gpt-4o')).toBe(true);
    expect(book.isFree('openai', 'POST', '/v1/chat/completions')).toBe(false);
    expect(book.isFree('stripe', 'GET', '/v1/charges')).toBe(false);
  });

  it('lists the Stripe calls that move money', () => {
    expect(book.isMoneyMoving('POST', '/v1/payment_intents')).toBe(true);
    expect(book.isMoneyMoving('POST', '/v1/charges')).toBe(true);
    expect(book.isMoneyMoving('GET', '/v1/payment_intents')).toBe(false);
    expect(book.isMoneyMoving('POST', '/v1/customers')).toBe(false);
  });

  it('converts currency amounts with a configured rate only (USD by default)', () => {
    expect(book.currencyAmountMicros('usd', 100n)).toBe(1_000_000n);
    expect(book.currencyAmountMicros('USD', 1n)).toBe(10_000n);
    expect(book.currencyAmountMicros('eur', 100n)).toBeUndefined();
    expect(book.currencyAmountMicros('usd', -1n)).toBeUndefined();
  });

  it('merges a deployment overrides file entry by entry', () => {
    const b = PriceBook.load(
      overridesFile({
        openai: { models: { 'gpt-4o': { input_usd_per_mtok: 5 }, 'my-finetune': { input_usd_per_mtok: 1, output_usd_per_mtok: 2, max_output_tokens: 100 } } },
        stripe: { currencies: { eur: { usd_per_unit: 1.08, minor_unit_digits: 2 }, jpy: { usd_per_unit: 0.0067, minor_unit_digits: 0 } } },
      }),
    );
    expect(b.model('openai', 'gpt-4o')).toMatchObject({ inputMicrosPerMTok: 5_000_000n, outputMicrosPerMTok: 10_000_000n });
    expect(b.model('openai', 'my-finetune')?.maxOutputTokens).toBe(100);
    expect(b.model('openai', 'gpt-4o-mini')).toBeDefined();
    expect(b.currencyAmountMicros('eur', 1000n)).toBe(10_800_000n);
    expect(b.currencyAmountMicros('jpy', 1000n)).toBe(6_700_000n);
    expect(b.currencyAmountMicros('usd', 100n)).toBe(1_000_000n);
  });

  it.each([
    ['not json', /not readable JSON/],
    [{ openai: { models: { x: { input_usd_per_mtok: -1, output_usd_per_mtok: 1, max_output_tokens: 1 } } } }, /openai\.models\.x\.input_usd_per_mtok/],
    [{ openai: { models: { x: { input_usd_per_mtok: 0.1234567, output_usd_per_mtok: 1, max_output_tokens: 1 } } } }, /6 decimals/],
    [{ stripe: { money_moving_endpoints: ['payment_intents'] } }, /stripe\.money_moving_endpoints/],
  ])('refuses a bad overrides file %#', (content, message) => {
    expect(() => PriceBook.load(overridesFile(content))).toThrow(message);
  });

  it('mergeEntries: objects merge, other values replace', () => {
    expect(mergeEntries({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9], n: 1 })).toEqual({ a: { b: 1, c: 3 }, l: [9], n: 1 });
  });
});
