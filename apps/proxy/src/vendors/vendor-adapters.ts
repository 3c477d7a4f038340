import { Injectable } from '@nestjs/common';
import { PriceBook } from '@keyvault/policy';
import { OpenAiAdapter } from './openai.adapter';
import { StripeAdapter } from './stripe.adapter';
import type { VendorAdapter } from './vendor-adapter';

/** The adapter of each vendor the proxy can meter; a vendor without one is refused as unpriced. */
@Injectable()
export class VendorAdapters {
  private readonly byVendor: ReadonlyMap<string, VendorAdapter>;

  constructor(prices: PriceBook) {
    const adapters: VendorAdapter[] = [new OpenAiAdapter(prices), new StripeAdapter(prices)];
    this.byVendor = new Map(adapters.map((a) => [a.vendor, a]));
  }

  get(vendor: string): VendorAdapter | undefined {
    return this.byVendor.get(vendor);
  }
}
