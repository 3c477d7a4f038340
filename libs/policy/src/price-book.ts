import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compileEndpointRules, matchEndpoint, type EndpointRule } from './endpoint-rules';
import { scaledDecimal, usdToNanos } from './money';
import type { ServerToolRules, UnboundedInputPrices } from './unbounded-inputs';

/**
 * What calls cost, from the shipped `prices.json` merged with the deployment's
 * KEYVAULT_PRICES_FILE (whose entries replace the shipped ones, object by object).
 *
 * Every price is held as a whole number of nano-dollars per billable unit: per token, per SMS
 * segment, per MMS, per email, per minor unit of a currency. A call's cost is then usage × price
 * in integers, with no division and no rounding anywhere, so an audit row's cost is exactly its
 * usage times its price and a key's spend exactly the sum of its rows. The price list is held to
 * that grid when it is read: a token price has at most 3 decimals in USD per million tokens
 * ($0.001 per million tokens is 1 nano-dollar per token), a per-item price at most 9, and a
 * currency rate must come to whole nano-dollars per minor unit. A finer price is refused at start
 * with a line naming it rather than rounded on every call (docs/budget-leases.md, "Money").
 */

const usd = z.number().nonnegative().refine((v) => usdToNanos(v) !== null, { message: 'at most 9 decimals (whole nano-dollars)' });
/** USD per million tokens, on the nano-dollar-per-token grid */
const usdPerMTok = z
  .number()
  .nonnegative()
  .refine((v) => scaledDecimal(v, 3) !== null, {
    message: 'at most 3 decimals: a price finer than $0.001 per million tokens is a fraction of a nano-dollar per token, and Keyvault books whole nano-dollars',
  });
const rules = z.array(z.string()).refine((a) => compileEndpointRules(a).length === a.length, {
  message: 'every entry must look like "METHOD /path"',
});
const modelPrice = z.object({
  input_usd_per_mtok: usdPerMTok,
  output_usd_per_mtok: usdPerMTok,
  max_output_tokens: z.number().int().nonnegative(),
  /** prompt-cache prices (Anthropic); absent, cache writes and reads cost the input price */
  cache_write_usd_per_mtok: usdPerMTok.optional(),
  cache_write_1h_usd_per_mtok: usdPerMTok.optional(),
  cache_read_usd_per_mtok: usdPerMTok.optional(),
  /** reasoning tokens are billed as output but never streamed (a cut stream is then booked at its worst case) */
  hidden_reasoning: z.boolean().optional(),
});
/**
 * Worst cases of the inputs a body's bytes do not bound (unbounded-inputs.ts): USD per image,
 * per file or document, per server-tool use; null refuses calls that carry that kind as unpriced.
 */
const unboundedInputs = z.object({
  image: usd.nullable().default(null),
  file: usd.nullable().default(null),
  server_tool_use: usd.nullable().default(null),
});
const llmVendor = z.object({
  models: z.record(z.string(), modelPrice),
  free_endpoints: rules.default([]),
  worst_case_usd: unboundedInputs.default({ image: null, file: null, server_tool_use: null }),
  /** server tools by type glob: uses reserved when a tool sets no max_uses, or null (it must set one) */
  server_tools: z.record(z.string(), z.number().int().positive().nullable()).default({}),
  /** what the final usage's server_tool_use counts cost each (Anthropic: web_search_requests) */
  server_tool_usage_usd: z.record(z.string(), usd).default({}),
  note: z.string().optional(),
});

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
    /** everything neither free nor money-moving is refused as unpriced (default deny) */
    free_endpoints: rules.default([]),
    money_moving_endpoints: rules,
    note: z.string().optional(),
    currencies: z.record(
      z.string().regex(/^[a-z]{3}$/),
      z
        .object({ usd_per_unit: usd, minor_unit_digits: z.number().int().min(0).max(4) })
        .refine((c) => usdToNanos(c.usd_per_unit)! % 10n ** BigInt(c.minor_unit_digits) === 0n, {
          message: 'must come to whole nano-dollars per minor unit (at most 9 - minor_unit_digits decimals)',
          path: ['usd_per_unit'],
        }),
    ),
  }),
});
export type PriceFile = z.infer<typeof priceFile>;

/** The vendors whose calls are priced per token. */
export type LlmVendor = 'openai' | 'anthropic' | 'openai_compatible';

export interface ModelPrice {
  /** the price list's name for the model (a dated snapshot resolves to its family) */
  model: string;
  /** nano-dollars per token (the list's USD per million tokens × 1,000) */
  inputNanosPerToken: bigint;
  outputNanosPerToken: bigint;
  maxOutputTokens: number;
  /** prompt-cache writes (5-minute and 1-hour) and reads, per token */
  cacheWriteNanosPerToken: bigint;
  cacheWrite1hNanosPerToken: bigint;
  cacheReadNanosPerToken: bigint;
  /** reasoning tokens are billed but not streamed */
  hiddenReasoning: boolean;
}

/** A vendor's prices for what a body's bytes do not bound (see unbounded-inputs.ts). */
export interface UnboundedInputRules {
  prices: UnboundedInputPrices;
  serverTools: ServerToolRules;
  /** nano-dollars per count of the final usage's `server_tool_use` (e.g. `web_search_requests`) */
  serverToolUsageNanos: ReadonlyMap<string, bigint>;
}

/** Tokens of one call by kind, as the vendor's `usage` reports them. */
export interface TokenCounts {
  input: number;
  output: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  cacheRead?: number;
}

const SHIPPED = join(__dirname, 'prices.json');
/** USD per million tokens → nano-dollars per token: the same digits, 3 decimals */
const perToken = (usdPerMTok: number): bigint => scaledDecimal(usdPerMTok, 3)!;

export class PriceBook {
  private readonly models = new Map<string, ModelPrice>();
  private readonly unbounded = new Map<LlmVendor, UnboundedInputRules>();
  private readonly free = new Map<string, EndpointRule[]>();
  /** nano-dollars per minor unit (cent) of each currency */
  private readonly currencies = new Map<string, bigint>();
  private readonly moneyMoving: EndpointRule[];
  /** nano-dollars per SMS segment (Twilio) */
  readonly smsSegmentNanos: bigint;
  /** nano-dollars per MMS (Twilio), or null when messages with media are not priced */
  readonly mmsNanos: bigint | null;
  /** nano-dollars per email (Resend) */
  readonly emailNanos: bigint;

  constructor(file: PriceFile) {
    for (const vendor of ['openai', 'anthropic', 'openai_compatible'] as const) {
      for (const [model, p] of Object.entries(file[vendor].models)) {
        const input = perToken(p.input_usd_per_mtok);
        const cacheWrite = p.cache_write_usd_per_mtok === undefined ? input : perToken(p.cache_write_usd_per_mtok);
        this.models.set(`${vendor}:${model}`, {
          model,
          inputNanosPerToken: input,
          outputNanosPerToken: perToken(p.output_usd_per_mtok),
          maxOutputTokens: p.max_output_tokens,
          cacheWriteNanosPerToken: cacheWrite,
          cacheWrite1hNanosPerToken: p.cache_write_1h_usd_per_mtok === undefined ? cacheWrite : perToken(p.cache_write_1h_usd_per_mtok),
          cacheReadNanosPerToken: p.cache_read_usd_per_mtok === undefined ? input : perToken(p.cache_read_usd_per_mtok),
          hiddenReasoning: p.hidden_reasoning === true,
        });
      }
      const w = file[vendor].worst_case_usd;
      const nanos = (v: number | null) => (v === null ? null : usdToNanos(v)!);
      this.unbounded.set(vendor, {
        prices: { imageNanos: nanos(w.image), fileNanos: nanos(w.file), serverToolUseNanos: nanos(w.server_tool_use) },
        serverTools: file[vendor].server_tools,
        serverToolUsageNanos: new Map(Object.entries(file[vendor].server_tool_usage_usd).map(([k, v]) => [k, usdToNanos(v)!])),
      });
    }
    for (const vendor of ['openai', 'anthropic', 'openai_compatible', 'twilio', 'resend', 'stripe'] as const) {
      this.free.set(vendor, compileEndpointRules(file[vendor].free_endpoints));
    }
    this.moneyMoving = compileEndpointRules(file.stripe.money_moving_endpoints);
    for (const [code, c] of Object.entries(file.stripe.currencies)) {
      this.currencies.set(code, usdToNanos(c.usd_per_unit)! / 10n ** BigInt(c.minor_unit_digits));
    }
    this.smsSegmentNanos = usdToNanos(file.twilio.usd_per_sms_segment)!;
    this.mmsNanos = file.twilio.usd_per_mms == null ? null : usdToNanos(file.twilio.usd_per_mms)!;
    this.emailNanos = usdToNanos(file.resend.usd_per_email)!;
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

  /** Nano-dollars for a number of tokens at a model's price: exact, never rounded. */
  tokenCost(price: ModelPrice, inputTokens: number | bigint, outputTokens: number | bigint): bigint {
    return BigInt(inputTokens) * price.inputNanosPerToken + BigInt(outputTokens) * price.outputNanosPerToken;
  }

  /** Nano-dollars for a call's tokens of every kind (prompt-cache writes and reads included): exact. */
  tokensCost(price: ModelPrice, t: TokenCounts): bigint {
    return (
      BigInt(t.input) * price.inputNanosPerToken +
      BigInt(t.output) * price.outputNanosPerToken +
      BigInt(t.cacheWrite ?? 0) * price.cacheWriteNanosPerToken +
      BigInt(t.cacheWrite1h ?? 0) * price.cacheWrite1hNanosPerToken +
      BigInt(t.cacheRead ?? 0) * price.cacheReadNanosPerToken
    );
  }

  /** A vendor's worst cases for images, files and server tools, and its server tools' usage fees. */
  unboundedInputs(vendor: LlmVendor): UnboundedInputRules {
    return this.unbounded.get(vendor)!;
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

  /** An amount in a currency's minor unit (cents) as nano-dollars (exact), or undefined without a rate. */
  currencyAmountNanos(currency: string, minorAmount: bigint): bigint | undefined {
    const rate = this.currencies.get(currency.toLowerCase());
    if (rate === undefined || minorAmount < 0n) return undefined;
    return minorAmount * rate;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; anything else in the overrides (numbers, lists) replaces the shipped value. */
export function mergeEntries(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) out[k] = k in base ? mergeEntries(base[k], v) : v;
  return out;
}
