import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import type { PriceBook } from '@keyvault/policy';
import { jsonObject } from './json-body';
import { fixedCost, isSuccess, type OutgoingHeaders, type PreparedCall, type VendorAdapter, type VendorCall } from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';

/**
 * Stripe: Bearer key, form-encoded bodies. A money-moving call (the price list's
 * `money_moving_endpoints`) counts its `amount` against the cap before the call, converted to
 * USD with a configured rate (USD only by default); a call without a readable amount, or in a
 * currency without a rate, is refused as unpriced. Everything else (reads, customers...) costs 0.
 */
export class StripeAdapter implements VendorAdapter {
  readonly vendor = 'stripe' as const;
  readonly headers: HeaderAllowlist = {
    // not stripe-account / stripe-context: they act on any connected account of the real key
    up: [...COMMON_UP, 'stripe-version', 'idempotency-key', 'x-stripe-client-user-agent', 'x-stripe-client-telemetry'],
    down: [...COMMON_DOWN, 'request-id', 'idempotency-key', 'idempotent-replayed', 'original-request', 'stripe-version', 'stripe-should-retry'],
  };

  constructor(private readonly prices: PriceBook) {}

  authorize(headers: OutgoingHeaders, key: Secret): void {
    headers.authorization = `Bearer ${key.reveal()}`;
  }

  prepare(call: VendorCall): PreparedCall {
    if (!this.prices.isMoneyMoving(call.method, call.path)) return { costNanos: 0n };
    const { amount, currency } = moneyParams(call);
    if (amount === undefined || !/^\d{1,15}$/.test(amount)) {
      throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} moves money: an integer amount is required to meter it.`, 'amount');
    }
    if (currency === undefined) throw new KeyvaultError('unpriced_request', 'A currency is required to meter this call.', 'currency');
    const costNanos = this.prices.currencyAmountNanos(currency, BigInt(amount));
    if (costNanos === undefined) {
      throw new KeyvaultError('unpriced_request', `Currency '${currency}' has no configured USD rate.`, 'currency');
    }
    // a duplicate the proxy (or the caller's own Idempotency-Key) sent again is answered from
    // the first call (Idempotent-Replayed: true): it moved no money, so it books nothing
    return { costNanos, meter: (res) => fixedCost(isSuccess(res.status) && res.headers['idempotent-replayed'] !== 'true' ? costNanos : 0n) };
  }
}

function moneyParams(call: VendorCall): { amount?: string; currency?: string } {
  const type = String(call.headers['content-type'] ?? '');
  if (type.includes('json')) {
    const doc = jsonObject(call.body);
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
    return { amount: str(doc.amount), currency: str(doc.currency) };
  }
  const form = new URLSearchParams(call.body.toString('utf8'));
  return { amount: single(form, 'amount'), currency: single(form, 'currency') };
}

/** A money field's one value: a body that repeats it (`amount=1&amount=50000`) is refused, since which one Stripe reads is not ours to guess. */
function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new KeyvaultError('parameter_invalid', `${name} appears ${values.length} times in the body: send it once.`, name);
  return values[0];
}
