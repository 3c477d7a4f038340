import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { smsSegments } from '@keyvault/policy';
import { json, startStubServer, type StubServer } from './stub-server';

/**
 * A loopback stand-in for Twilio's 2010-04-01 REST API: Messages create (form-encoded, answers
 * the message resource with its `num_segments`), fetch and list. As the real API, it wants
 * Basic auth whose user is the account SID in the path (or an API key SID), and answers 401
 * (code 20003) otherwise and 404 (code 20404) for another account's path.
 */
export async function startTwilioStub(): Promise<StubServer> {
  const messages = new Map<string, Record<string, unknown>>();
  const error = (res: ServerResponse, status: number, code: number, message: string) =>
    json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  return startStubServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const [user, secret] = /^basic /i.test(auth) ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':') : [];
    if (!user || !secret) return error(res, 401, 20003, 'Authenticate');
    const scoped = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages)(?:\/([^/]+))?\.json$/.exec(req.path);
    if (!scoped) return error(res, 404, 20404, `The requested resource ${req.path} was not found`);
    const [, accountSid, , messageSid] = scoped;
    if (user.startsWith('AC') && user !== accountSid) return error(res, 404, 20404, `The requested resource ${req.path} was not found`);

    if (req.method === 'POST' && !messageSid) {
      const form = new URLSearchParams(req.body.toString('utf8'));
      const body = form.get('Body') ?? '';
      const media = form.getAll('MediaUrl');
      if (!form.get('To')) return error(res, 400, 21604, "A 'To' phone number is required.");
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const now = new Date().toUTCString();
      const message = {
        sid, account_sid: accountSid, api_version: '2010-04-01',
        to: form.get('To'), from: form.get('From'), messaging_service_sid: form.get('MessagingServiceSid'),
        body, status: 'queued', direction: 'outbound-api',
        num_segments: String(media.length > 0 ? 1 : smsSegments(body)), num_media: String(media.length),
        price: null, price_unit: 'USD', error_code: null, error_message: null,
        date_created: now, date_updated: now, date_sent: null,
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      };
      messages.set(sid, message);
      return json(res, 201, message);
    }
    if (req.method === 'GET' && messageSid) {
      const message = messages.get(messageSid);
      return message ? json(res, 200, message) : error(res, 404, 20404, `The requested resource ${req.path} was not found`);
    }
    if (req.method === 'GET') {
      const uri = `/2010-04-01/Accounts/${accountSid}/Messages.json?PageSize=50&Page=0`;
      return json(res, 200, {
        messages: [...messages.values()].filter((m) => m.account_sid === accountSid),
        end: 0, first_page_uri: uri, next_page_uri: null, previous_page_uri: null, page: 0, page_size: 50, start: 0, uri,
      });
    }
    error(res, 405, 20004, 'Method not allowed');
  });
}
