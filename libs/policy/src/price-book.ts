import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compileEndpointRules, matchEndpoint, type EndpointRule } from './endpoint-rules';
import { usdToMicros } from './money';

/**
 * What calls cost, from the shipped `prices.json` merged with the deployment's
 * KEYVAULT_PRICES_FILE (whose entries replace the shipped ones, object by object). All
 * arithmetic is integer micro-dollars, rounded up, so a metered cost never undercounts.
 */

const usd = z.number().nonnegative().refine((v) => usdToMicros(v) !== null, { message: 'at most 6 decimals' });
const rules = z.array(z.string()).refine((a) => compileEndpointRules(a).length === a.length, {
  message: 'every entry must look like "METHOD /path"',
});
const modelPrice = z.object({
  input_usd_per_mtok: usd,
  output_usd_per_mtok: usd,
  max_output_tokens: z.number().int().nonnegative(),
  /** prompt-cache prices (Anthropic); absent, cache writes and reads cost the input price */
  cache_write_usd_per_mtok: usd.optional(),
  cache_write_1h_usd_per_mtok: usd.optional(),
  cache_read_usd_per_mtok: usd.optional(),
});
const llmVendor = z.object({ models: z.record(z.string(), modelPrice), free_endpoints: rules.default([]) });

const priceFile = z.object({
  openai: llmVendor,
  anthropic: llmVendor,
  openai_compatible: llmVendor,
  twilio: z.object({
    usd_per_sms_segment: usd,
    /** null or absent: messages with media are refused as unpriced */
    usd_per_mms: usd.nullable().optional(),
    free_endpoints: rules.default([]),
    note: z.string().optional(),
  }),
  resend: z.object({ usd_per_email: usd, free_endpoints: rules.default([]), note: z.string().optional() }),
  stripe: z.object({
    money_moving_endpoints: rules,
    currencies: z.record(
      z.string().regex(/^[a-z]{3}$/),
      z.object({ usd_per_unit: usd, minor_unit_digits: z.number().int().min(0).max(4) }),
    ),
  }),
});
export type PriceFile = z.infer<typeof priceFile>;

/** The vendors whose calls are priced per token. */
export type LlmVendor = 'openai' | 'anthropic' | 'openai_compatible';

export interface ModelPrice {
  /** the price list's name for the model (a dated snapshot resolves to its family) */
  model: string;
  /** micro-dollars per million tokens, i.e. pico-dollars per token */
  inputMicrosPerMTok: bigint;
  outputMicrosPerMTok: bigint;
  maxOutputTokens: number;
  /** prompt-cache writes (5-minute and 1-hour) and reads, per million tokens */
  cacheWriteMicrosPerMTok: bigint;
  cacheWrite1hMicrosPerMTok: bigint;
  cacheReadMicrosPerMTok: bigint;
}

/** Tokens of one call by kind, as the vendor's `usage` reports them. */
export interface TokenCounts {
  input: number;
  output: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  cacheRead?: number;
}

interface CurrencyRate {
  /** micro-dollars per major unit of the currency */
  microsPerUnit: bigint;
  /** 10 ^ digits of the currency's minor unit (100 for cents) */
  minorPerUnit: bigint;
}

const SHIPPED = join(__dirname, 'prices.json');
const MILLION = 1_000_000n;

export class PriceBook {
  private readonly models = new Map<string, ModelPrice>();
  private readonly free = new Map<string, EndpointRule[]>();
  private readonly currencies = new Map<string, CurrencyRate>();
  private readonly moneyMoving: EndpointRule[];
  /** micro-dollars per SMS segment (Twilio) */
  readonly smsSegmentMicros: bigint;
  /** micro-dollars per MMS (Twilio), or null when messages with media are not priced */
  readonly mmsMicros: bigint | null;
  /** micro-dollars per email (Resend) */
  readonly emailMicros: bigint;

  constructor(file: PriceFile) {
    for (const vendor of ['openai', 'anthropic', 'openai_compatible'] as const) {
      for (const [model, p] of Object.entries(file[vendor].models)) {
        const input = usdToMicros(p.input_usd_per_mtok)!;
        const cacheWrite = p.cache_write_usd_per_mtok === undefined ? input : usdToMicros(p.cache_write_usd_per_mtok)!;
        this.models.set(`${vendor}:${model}`, {
          model,
          inputMicrosPerMTok: input,
          outputMicrosPerMTok: usdToMicros(p.output_usd_per_mtok)!,
          maxOutputTokens: p.max_output_tokens,
          cacheWriteMicrosPerMTok: cacheWrite,
          cacheWrite1hMicrosPerMTok: p.cache_write_1h_usd_per_mtok === undefined ? cacheWrite : usdToMicros(p.cache_write_1h_usd_per_mtok)!,
          cacheReadMicrosPerMTok: p.cache_read_usd_per_mtok === undefined ? input : usdToMicros(p.cache_read_usd_per_mtok)!,
        });
      }
    }
    for (const vendor of ['openai', 'anthropic', 'openai_compatible', 'twilio', 'resend'] as const) {
      this.free.set(vendor, compileEndpointRules(file[vendor].free_endpoints));
    }
    this.moneyMoving = compileEndpointRules(file.stripe.money_moving_endpoints);
    for (const [code, c] of Object.entries(file.stripe.currencies)) {
      this.currencies.set(code, { microsPerUnit: usdToMicros(c.usd_per_unit)!, minorPerUnit: 10n ** BigInt(c.minor_unit_digits) });
    }
    this.smsSegmentMicros = usdToMicros(file.twilio.usd_per_sms_segment)!;
    this.mmsMicros = file.twilio.usd_per_mms == null ? null : usdToMicros(file.twilio.usd_per_mms)!;
    this.emailMicros = usdToMicros(file.resend.usd_per_email)!;
  }

  /** The shipped list merged with an overrides file; throws one line naming the problem. */
  static load(overridesFile?: string): PriceBook {
    const shipped: unknown = JSON.parse(readFileSync(SHIPPED, 'utf8'));
    let merged = shipped;
    if (overridesFile) {
      let overrides: unknown;
      try {
        overrides = JSON.parse(readFileSync(overridesFile, 'utf8'));
      } catch (err) {
        throw new Error(`KEYVAULT_PRICES_FILE ${overridesFile} is not readable JSON: ${(err as Error).message}`);
      }
      merged = mergeEntries(shipped, overrides);
    }
    return PriceBook.from(merged, overridesFile ?? SHIPPED);
  }

  static from(data: unknown, source = 'price list'): PriceBook {
    const parsed = priceFile.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${source}: ${issue.path.join('.')} ${issue.message}`);
    }
    return new PriceBook(parsed.data);
  }

  /**
   * A model's price. Dated snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) and
   * `-latest` aliases resolve to their family's entry; anything else unknown is undefined.
   */
  model(vendor: LlmVendor, model: string): ModelPrice | undefined {
    const exact = this.models.get(`${vendor}:${model}`);
    if (exact) return exact;
    const family = model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, '');
    return family === model ? undefined : this.models.get(`${vendor}:${family}`);
  }

  /** Micro-dollars for a number of tokens at a model's price, rounded up. */
  tokenCost(price: ModelPrice, inputTokens: number | bigint, outputTokens: number | bigint): bigint {
    const picos = BigInt(inputTokens) * price.inputMicrosPerMTok + BigInt(outputTokens) * price.outputMicrosPerMTok;
    return ceilDiv(picos, MILLION);
  }

  /** Micro-dollars for a call's tokens of every kind (prompt-cache writes and reads included), rounded up. */
  tokensCost(price: ModelPrice, t: TokenCounts): bigint {
    const picos =
      BigInt(t.input) * price.inputMicrosPerMTok +
      BigInt(t.output) * price.outputMicrosPerMTok +
      BigInt(t.cacheWrite ?? 0) * price.cacheWriteMicrosPerMTok +
      BigInt(t.cacheWrite1h ?? 0) * price.cacheWrite1hMicrosPerMTok +
      BigInt(t.cacheRead ?? 0) * price.cacheReadMicrosPerMTok;
    return ceilDiv(picos, MILLION);
  }

  /** Endpoints that cost nothing (model lists, token counting, reads). */
  isFree(vendor: string, method: string, path: string): boolean {
    const rules = this.free.get(vendor);
    return rules !== undefined && matchEndpoint(rules, method, path);
  }

  /** Stripe calls that move money, whose `amount` counts against the cap before the call. */
  isMoneyMoving(method: string, path: string): boolean {
    return matchEndpoint(this.moneyMoving, method, path);
  }

  /** An amount in a currency's minor unit (cents) as micro-dollars, or undefined without a rate. */
  currencyAmountMicros(currency: string, minorAmount: bigint): bigint | undefined {
    const rate = this.currencies.get(currency.toLowerCase());
    if (!rate || minorAmount < 0n) return undefined;
    return ceilDiv(minorAmount * rate.microsPerUnit, rate.minorPerUnit);
  }
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; anything else in the overrides (numbers, lists) replaces the shipped value. */
export function mergeEntries(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) out[k] = k in base ? mergeEntries(base[k], v) : v;
  return out;
}
