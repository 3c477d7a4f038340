import type { Secret } from '@keyvault/crypto';
import { KeyvaultError } from '@keyvault/errors';
import { smsSegments, type PriceBook } from '@keyvault/policy';
import type { OutgoingHeaders, PreparedCall, VendorAdapter, VendorCall } from './vendor-adapter';
import { COMMON_DOWN, COMMON_UP, type HeaderAllowlist } from './header-allowlist';

/**
 * Twilio's REST API (api.twilio.com/2010-04-01). A profile's provider key is
 * `ACCOUNT_SID:AUTH_TOKEN` (or `ACCOUNT_SID:API_KEY_SID:API_KEY_SECRET` for an API key), sent as
 * `Authorization: Basic base64(ACCOUNT_SID:AUTH_TOKEN)` (resp. `API_KEY_SID:API_KEY_SECRET`).
 *
 * Every call is confined to that account. The official SDK is created with any account SID and
 * the vault key as its auth token, and puts its SID in the path
 * (`/2010-04-01/Accounts/{sid}/Messages.json`): the proxy replaces `{sid}` with the key's own.
 * Any other path shape (the account list, subaccount creation) is refused, so a vault key
 * reaches neither another account nor the profile's subaccounts.
 *
 * Sending a message (`POST .../Messages.json`) costs, before the call: one MMS when it carries
 * `MediaUrl` (refused as unpriced when the price list has no MMS price), else its `Body`'s SMS
 * segments (smsSegments) times the per-segment price. One message has one `To`. Messages to
 * channel addresses (`whatsapp:+1...`) or built from a content template (`ContentSid`) are not
 * priced by segment, and are refused. Reads and deletions are free; any other call is refused
 * as unpriced unless the price list names it free.
 */
export class TwilioAdapter implements VendorAdapter {
  readonly vendor = 'twilio' as const;
  readonly headers: HeaderAllowlist = {
    up: [...COMMON_UP, 'i-twilio-idempotency-token', 'x-twilio-client'],
    down: [...COMMON_DOWN, 'twilio-request-id', 'twilio-request-duration', 'twilio-concurrent-requests'],
  };

  constructor(private readonly prices: PriceBook) {}

  authorize(headers: OutgoingHeaders, key: Secret): void {
    const { user, secret } = twilioKey(key);
    headers.authorization = `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  }

  pathFor(path: string, key: Secret): string {
    return path.replace(ACCOUNT_PREFIX, `/2010-04-01/Accounts/${twilioKey(key).accountSid}`);
  }

  prepare(call: VendorCall): PreparedCall {
    if (!ACCOUNT_PREFIX.test(call.path)) {
      throw new KeyvaultError('endpoint_not_allowed', "Twilio calls must stay in the profile's account: /2010-04-01/Accounts/{AccountSid}/...");
    }
    if (this.prices.isFree('twilio', call.method, call.path)) return { costNanos: 0n };
    if (call.method === 'POST' && MESSAGE_CREATE.test(call.path)) return { costNanos: this.messageCost(new URLSearchParams(call.body.toString('utf8'))) };
    throw new KeyvaultError('unpriced_request', `${call.method} ${call.path} is not in the price list, so it cannot be metered.`);
  }

  private messageCost(form: URLSearchParams): bigint {
    const to = form.get('To') ?? '';
    const channel = /^([a-z]+):/i.exec(to);
    if (channel) throw new KeyvaultError('unpriced_request', `Messages to ${channel[1]} addresses are not priced: only SMS and MMS are.`, 'To');
    if (form.getAll('MediaUrl').length > 0) {
      if (this.prices.mmsNanos === null) throw new KeyvaultError('unpriced_request', 'Messages with media (MMS) have no price configured.', 'MediaUrl');
      return this.prices.mmsNanos;
    }
    const body = form.get('Body');
    if (body === null) {
      const param = form.has('ContentSid') ? 'ContentSid' : 'Body';
      throw new KeyvaultError('unpriced_request', 'Only a message with a Body (or MediaUrl) can be priced.', param);
    }
    return BigInt(smsSegments(body)) * this.prices.smsSegmentNanos;
  }
}

/** `/2010-04-01/Accounts/{sid}` followed by `.json` (the account itself) or a sub-resource. */
const ACCOUNT_PREFIX = /^\/2010-04-01\/Accounts\/[^/.]+(?=\.json$|\/.)/;
const MESSAGE_CREATE = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/;

const ACCOUNT_SID = /^AC[0-9a-f]{32}$/i;
const API_KEY_SID = /^SK[0-9a-f]{32}$/i;

/** Reads a profile key (see the class comment); a malformed one fails the call rather than reach Twilio. */
function twilioKey(key: Secret): { accountSid: string; user: string; secret: string } {
  const parts = key.reveal().split(':');
  if (parts.length === 2 && ACCOUNT_SID.test(parts[0]) && parts[1]) return { accountSid: parts[0], user: parts[0], secret: parts[1] };
  if (parts.length === 3 && ACCOUNT_SID.test(parts[0]) && API_KEY_SID.test(parts[1]) && parts[2]) {
    return { accountSid: parts[0], user: parts[1], secret: parts[2] };
  }
  throw new KeyvaultError('upstream_unreachable', "The credential profile's Twilio key is not ACCOUNT_SID:AUTH_TOKEN (or ACCOUNT_SID:API_KEY_SID:API_KEY_SECRET).");
}
