import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import type { PriceBook } from '@keyvault/policy';
import { JsonBodyMeter, jsonArray, jsonObject } from './json-body';
import { fixedCost, isSuccess, type OutgoingHeaders, type PreparedCall, type VendorAdapter, type VendorCall } from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';

/**
 * Resend: Bearer key, JSON bodies. Resend counts every recipient (`to`, `cc` and `bcc`) as one
 * email, so `POST /emails` costs its recipients times the per-email price, and
 * `POST /emails/batch` the sum over its emails, all before the call. A batch sent with
 * `x-batch-validation: permissive` may send only some of its emails: it settles to those the
 * answer does not list in `errors`. Reads, deletions and rescheduling are free (the price
 * list's `free_endpoints`); any other call is refused as unpriced.
 */
export class ResendAdapter implements VendorAdapter {
  readonly vendor = 'resend' as const;
  readonly headers: HeaderAllowlist = {
    up: [...COMMON_UP, 'idempotency-key', 'x-batch-validation'],
    down: [...COMMON_DOWN, 'x-resend-*', 'ratelimit-*', 'x-ratelimit-*'],
  };

  constructor(private readonly prices: PriceBook) {}

  authorize(headers: OutgoingHeaders, key: Secret): void {
    headers.authorization = `Bearer ${key.reveal()}`;
  }

  prepare(call: VendorCall): PreparedCall {
    if (this.prices.isFree('resend', call.method, call.path)) return { costNanos: 0n };
    if (call.method === 'POST' && call.path === '/emails') return { costNanos: this.emailCost(jsonObject(call.body), '') };
    if (call.method === 'POST' && call.path === '/emails/batch') return this.batch(call);
    throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} is not in the price list, so it cannot be metered.`);
  }

  private batch(call: VendorCall): PreparedCall {
    const costs = jsonArray(call.body).map((email, i) => {
      if (typeof email !== 'object' || email === null || Array.isArray(email)) {
        throw new KeyvaultError('invalid_json', 'A batch is a JSON array of email objects.', `[${i}]`);
      }
      return this.emailCost(email as Record<string, unknown>, `[${i}].`);
    });
    const costNanos = costs.reduce((a, b) => a + b, 0n);
    return {
      costNanos,
      meter: (res) => (isSuccess(res.status) ? new JsonBodyMeter((doc) => sentCost(doc, costs)) : fixedCost(0n)),
    };
  }

  private emailCost(email: Record<string, unknown>, param: string): bigint {
    const n = recipients(email.to, `${param}to`) + recipients(email.cc, `${param}cc`) + recipients(email.bcc, `${param}bcc`);
    if (n === 0) throw new KeyvaultError('unpriced_request', 'An email without recipients cannot be priced.', `${param}to`);
    return BigInt(n) * this.prices.emailNanos;
  }
}

/**
 * The addresses in a `to`, `cc` or `bcc` field: a string or an array of strings. A string is
 * counted by its commas, so a list spelled as one string is never priced as one email (a display
 * name with a comma in it is overcounted, never under).
 */
function recipients(field: unknown, param: string): number {
  if (field === undefined || field === null) return 0;
  const list = Array.isArray(field) ? field : [field];
  let n = 0;
  for (const address of list) {
    if (typeof address !== 'string') throw new KeyvaultError('unpriced_request', 'Recipients must be email address strings.', param);
    n += address.split(',').filter((part) => part.trim() !== '').length;
  }
  return n;
}

/** What a batch answer says was sent: every email but those listed in `errors` (permissive mode). */
function sentCost(answer: Record<string, unknown>, costs: bigint[]): bigint | null {
  if (!Array.isArray(answer.data)) return null;
  const failed = new Set<number>();
  if (Array.isArray(answer.errors)) {
    for (const e of answer.errors) {
      const index = (e as { index?: unknown } | null)?.index;
      if (typeof index !== 'number') return null;
      failed.add(index);
    }
  }
  return costs.reduce((sum, cost, i) => (failed.has(i) ? sum : sum + cost), 0n);
}
