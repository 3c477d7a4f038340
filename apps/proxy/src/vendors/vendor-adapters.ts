import { Injectable } from '@nestjs/common';
import { PriceBook } from '@keyvault/policy';
import { AnthropicAdapter } from './anthropic.adapter';
import { OpenAiCompatibleAdapter } from './openai-compatible.adapter';
import { OpenAiAdapter } from './openai.adapter';
import { ResendAdapter } from './resend.adapter';
import { StripeAdapter } from './stripe.adapter';
import { TwilioAdapter } from './twilio.adapter';
import type { VendorAdapter } from './vendor-adapter';

/** The adapter of each vendor the proxy can meter; a vendor without one is refused as unpriced. */
@Injectable()
export class VendorAdapters {
  private readonly byVendor: ReadonlyMap<string, VendorAdapter>;

  constructor(prices: PriceBook) {
    const adapters: VendorAdapter[] = [
      new OpenAiAdapter(prices),
      new OpenAiCompatibleAdapter(prices),
      new AnthropicAdapter(prices),
      new StripeAdapter(prices),
      new TwilioAdapter(prices),
      new ResendAdapter(prices),
    ];
    this.byVendor = new Map(adapters.map((a) => [a.vendor, a]));
  }

  get(vendor: string): VendorAdapter | undefined {
    return this.byVendor.get(vendor);
  }
}
