import type { IncomingHttpHeaders } from 'node:http';
import type { Vendor } from '@keyvault/config';
import type { Secret } from '@keyvault/crypto';
import type { UnboundedInputs } from '@keyvault/policy';
import type { HeaderAllowlist } from './header-allowlist';

/**
 * One adapter per vendor (`<vendor>.adapter.ts` in this folder, registered in
 * vendor-adapters.ts). The forwarder has already authenticated the vault key, matched the
 * allowlist and read the body; an adapter only knows its vendor's wire format:
 *   1. `prepare`   — what the call may cost (reserved against the cap before anything is sent),
 *                    any rewrite of the request, and how to read the actual cost afterwards;
 *   2. `authorize` — how the real key is sent (and `pathFor`, when the path depends on the key);
 *   3. `keyRefused`— (optional) which answers mean "this provider key is spent, try the next".
 * Adapters are stateless singletons: per-call state lives in what `prepare` returns.
 */
export interface VendorAdapter {
  readonly vendor: Vendor;

  /**
   * The client headers forwarded upstream and the upstream headers returned to the client;
   * every other header is dropped (see header-allowlist.ts). A vault key's `allowed_headers`
   * may add names.
   */
  readonly headers: HeaderAllowlist;

  /**
   * Prices and shapes one call. Throw `KeyvaultError('unpriced_request', message, param?)` when
   * the call cannot be priced (unknown model, currency, endpoint), or `invalid_json` for a body
   * that cannot be read; the call is then refused before anything is reserved or sent.
   */
  prepare(call: VendorCall): PreparedCall;

  /**
   * Sets the real key on the outgoing headers in the vendor's own scheme (`authorization:
   * Bearer`, `x-api-key`, Basic...). The vault key and the context headers were already removed.
   * Called again with the next key when the upstream refused one.
   */
  authorize(headers: OutgoingHeaders, key: Secret): void;

  /**
   * (optional) The vendor path to send with this key, for vendors whose paths name the key's own
   * account (Twilio's account SID). Called for each key tried, with the path to be sent.
   */
  pathFor?(path: string, key: Secret): string;

  /**
   * Whether this answer means the provider key is exhausted or refused, so the call should move
   * to the profile's next key (the request is resent: only answer true for responses the vendor
   * gives before doing any work). Default: 401, 403 and 429.
   */
  keyRefused?(response: UpstreamResponseHead): boolean;
}

/** The call as the adapter sees it. */
export interface VendorCall {
  /** uppercase */
  method: string;
  /** the normalised vendor path, e.g. `/v1/chat/completions` (what the allowlist matched) */
  path: string;
  /** the raw query string without `?` ('' when none); forwarded unchanged */
  query: string;
  /** the client's headers (the vault key is still there: never copy them wholesale) */
  headers: IncomingHttpHeaders;
  /** the whole request body, at most KEYVAULT_MAX_BODY_BYTES */
  body: Buffer;
  /** the credential profile serving the call */
  credential: { vendor: string; baseUrl: string | null };
}

export interface PreparedCall {
  /**
   * Nano-dollars to reserve against the key's daily cap before the call: the exact cost when it
   * is known up front (a Stripe amount, an SMS, an email), the worst case for LLM calls, 0n for
   * free calls (no reservation is made then, and the call passes even on a spent cap).
   */
  costNanos: bigint;
  /** the body's `model`, for LLM calls (matched against the key's allowed_models) */
  model?: string;
  /**
   * LLM calls: the tokens the call may use at worst (counted against max_tokens_per_minute when
   * admitted), and the tokens its usage reported, which the adapter's meter fills in (null until
   * then, or when the answer did not tell).
   */
  tokens?: CallTokens;
  /** LLM calls: the images, files and server tools the body carries (matched against the key's allowed_inputs) */
  inputs?: UnboundedInputs;
  /** a replacement request body (e.g. stream_options added); the received body when absent */
  body?: Buffer;
  /** a replacement vendor path to send (e.g. a base_url that already ends in /v1) */
  path?: string;
  /**
   * Reads the actual cost from the response. Absent: the cost is `costNanos` when the upstream
   * answers 2xx and 0 otherwise. Present: the upstream is asked for an uncompressed body
   * (accept-encoding: identity) and the meter sees every chunk of it. The settled amount may
   * exceed `costNanos` only when the vendor's own usage says so (an overrun, booked whole).
   */
  meter?: (response: UpstreamResponseHead) => ResponseMeter;
}

export interface CallTokens {
  worst: number;
  actual: number | null;
}

export interface UpstreamResponseHead {
  status: number;
  headers: IncomingHttpHeaders;
}

/** Follows one response body on its way to the client. */
export interface ResponseMeter {
  /** true when `transform` may change the bytes (the forwarder then drops content-length) */
  readonly rewrites: boolean;
  /**
   * Sees each body chunk as it arrives and returns what to send to the client now: the chunk
   * itself when nothing changes, a rewritten string, or '' to hold bytes back until complete.
   * Must not delay what it does not change: the client's first byte follows the upstream's.
   */
  transform(chunk: Buffer): Buffer | string;
  /**
   * The body ended. `tail`: bytes still held back, sent before the response ends. `costNanos`:
   * the actual cost, or null when it could not be read (the reserved worst case is then charged).
   * `cut`: the proxy ended the answer early and closed the upstream (the client hung up, or the
   * upstream was idle too long): a stream meter then prices what was streamed so far
   * (libs/policy/stream-cut.ts) when the usage has not come.
   */
  finish(cut?: boolean): { tail?: string; costNanos: bigint | null };
}

/** Headers sent upstream (lowercase names). */
export type OutgoingHeaders = Record<string, string | string[] | undefined>;

/** A meter for answers that cost a fixed amount (typically 0 for errors). */
export function fixedCost(costNanos: bigint): ResponseMeter {
  return { rewrites: false, transform: (chunk) => chunk, finish: () => ({ costNanos }) };
}

export const isSuccess = (status: number): boolean => status >= 200 && status < 300;
