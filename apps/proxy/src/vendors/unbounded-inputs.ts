import { KeyvaultError } from '@keyvault/errors';
import { countUnboundedInputs, unboundedInputsCost, UnboundedServerTool, type LlmDialect, type LlmVendor, type PriceBook, type UnboundedInputs } from '@keyvault/policy';

/** A request's images, files and server tools, with the worst case reserved for them (libs/policy/unbounded-inputs.ts). */
export interface PricedInputs {
  inputs: UnboundedInputs;
  /** images and files: the vendor counts them in the prompt's input tokens */
  promptNanos: bigint;
  /** server tools: they run, and cost, while the answer is generated */
  serverToolNanos: bigint;
}

const PARAM = { images: 'messages', files: 'messages', server_tools: 'tools' } as const;

/** Counts and prices what the body does not bound, or refuses the call as unpriced (422). */
export function pricedInputs(prices: PriceBook, vendor: LlmVendor, dialect: LlmDialect, request: Record<string, unknown>): PricedInputs {
  const rules = prices.unboundedInputs(vendor);
  let inputs: UnboundedInputs;
  try {
    inputs = countUnboundedInputs(dialect, request, rules.serverTools);
  } catch (err) {
    if (err instanceof UnboundedServerTool) throw new KeyvaultError('unpriced_request', err.message, 'tools');
    throw err;
  }
  const cost = unboundedInputsCost(rules.prices, inputs);
  if (cost.unpriced) {
    throw new KeyvaultError('unpriced_request', `This call carries ${cost.unpriced.replace('_', ' ')}, which the price list gives no worst case for, so it cannot be metered.`, PARAM[cost.unpriced]);
  }
  return { inputs, promptNanos: cost.promptNanos, serverToolNanos: cost.serverToolNanos };
}
