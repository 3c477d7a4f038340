import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import type { PriceBook } from '@keyvault/policy';
import { jsonObject } from './json-body';
import { fixedCost, isSuccess, type OutgoingHeaders, type PreparedCall, type VendorAdapter, type VendorCall } from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';

/**
 * Stripe: Bearer key, form-encoded bodies. Default deny: a call is either free (the price list's
 * stripe `free_endpoints`: reads, customers, setup intents...), or moves money (its
 * `money_moving_endpoints`) and is priced from its own amount fields before the call, converted
 * to USD with a configured rate (USD only by default); anything else is refused as unpriced.
 *
 * Amount fields: `amount` (payment intents, charges, refunds, transfers, payouts, top-ups,
 * Treasury outbound transfers and payments); a payment intent update costs its new `amount`, or
 * nothing when it sets none; a Checkout Session the sum of its line items' `price_data[unit_amount]`
 * × `quantity` (a line item that names a stored `price` cannot be priced from the body, and is
 * refused). A call without a readable amount, in a currency without a rate, or repeating a money
 * field, is refused.
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
    if (this.prices.isFree('stripe', call.method, call.path)) return { costNanos: 0n };
    if (!this.prices.isMoneyMoving(call.method, call.path)) {
      throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} is neither a free Stripe call nor one priced from its amount: it is refused rather than let through unmetered.`);
    }
    const costNanos = CHECKOUT_SESSION.test(call.path) ? this.checkoutCost(call) : this.amountCost(call);
    // a duplicate the proxy (or the caller's own Idempotency-Key) sent again is answered from
    // the first call (Idempotent-Replayed: true): it moved no money, so it books nothing
    return { costNanos, meter: (res) => fixedCost(isSuccess(res.status) && res.headers['idempotent-replayed'] !== 'true' ? costNanos : 0n) };
  }

  private amountCost(call: VendorCall): bigint {
    const fields = moneyFields(call, ['amount', 'currency']);
    // an update that sets no amount changes no money
    if (PAYMENT_INTENT_UPDATE.test(call.path) && fields.amount === undefined) return 0n;
    return this.usd(fields.amount, fields.currency, 'amount', 'currency', call);
  }

  private checkoutCost(call: VendorCall): bigint {
    const type = String(call.headers['content-type'] ?? '');
    if (type.includes('json')) throw new KeyvaultError('unpriced_request', 'Checkout Sessions are priced from a form-encoded body.');
    const form = new URLSearchParams(call.body.toString('utf8'));
    const items = new Set<string>();
    for (const name of form.keys()) {
      const m = /^line_items\[(\d+)\]/.exec(name);
      if (m) items.add(m[1]);
    }
    if (items.size === 0) throw new KeyvaultError('unpriced_request', 'A Checkout Session is priced from its line_items.', 'line_items');
    let total = 0n;
    for (const i of items) {
      const p = `line_items[${i}]`;
      if (form.has(`${p}[price]`)) {
        throw new KeyvaultError('unpriced_request', `${p}[price] names a stored price, which the body does not show: use price_data.`, `${p}[price]`);
      }
      const quantity = single(form, `${p}[quantity]`) ?? '1';
      if (!/^\d{1,9}$/.test(quantity)) throw new KeyvaultError('unpriced_request', `${p}[quantity] must be a whole number.`, `${p}[quantity]`);
      const unit = single(form, `${p}[price_data][unit_amount]`);
      const currency = single(form, `${p}[price_data][currency]`);
      total += this.usd(unit, currency, `${p}[price_data][unit_amount]`, `${p}[price_data][currency]`, call) * BigInt(quantity);
    }
    return total;
  }

  private usd(amount: string | undefined, currency: string | undefined, amountParam: string, currencyParam: string, call: VendorCall): bigint {
    if (amount === undefined || !/^\d{1,15}$/.test(amount)) {
      throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} moves money: an integer ${amountParam} is required to meter it.`, amountParam);
    }
    if (currency === undefined) throw new KeyvaultError('unpriced_request', 'A currency is required to meter this call.', currencyParam);
    const nanos = this.prices.currencyAmountNanos(currency, BigInt(amount));
    if (nanos === undefined) throw new KeyvaultError('unpriced_request', `Currency '${currency}' has no configured USD rate.`, currencyParam);
    return nanos;
  }
}

const CHECKOUT_SESSION = /^\/v1\/checkout\/sessions$/;
const PAYMENT_INTENT_UPDATE = /^\/v1\/payment_intents\/[^/]+$/;

/** The named fields of a JSON or form body, each at most once. */
function moneyFields(call: VendorCall, names: string[]): Record<string, string | undefined> {
  const type = String(call.headers['content-type'] ?? '');
  const out: Record<string, string | undefined> = {};
  if (type.includes('json')) {
    const doc = jsonObject(call.body);
    for (const n of names) out[n] = typeof doc[n] === 'string' || typeof doc[n] === 'number' ? String(doc[n]) : undefined;
    return out;
  }
  const form = new URLSearchParams(call.body.toString('utf8'));
  for (const n of names) out[n] = single(form, n);
  return out;
}

/** A money field's one value: a body that repeats it (`amount=1&amount=50000`) is refused, since which one Stripe reads is not ours to guess. */
function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new KeyvaultError('parameter_invalid', `${name} appears ${values.length} times in the body: send it once.`, name);
  return values[0];
}
