import { randomBytes } from 'node:crypto';
import { json, startStubServer, type StubServer } from './stub-server';

/** A loopback stand-in for Stripe's form-encoded v1 API: payment intents, charges, reads. */
export async function startStripeStub(): Promise<StubServer> {
  return startStubServer((req, res) => {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (req.method === 'POST' && req.path === '/v1/payment_intents') {
      return json(res, 200, money('pi', 'payment_intent', form, { status: 'requires_payment_method', client_secret: `pi_secret_${randomBytes(6).toString('hex')}` }));
    }
    if (req.method === 'POST' && req.path === '/v1/charges') return json(res, 200, money('ch', 'charge', form, { status: 'succeeded', paid: true }));
    if (req.method === 'POST' && req.path === '/v1/refunds') return json(res, 200, money('re', 'refund', form, { status: 'succeeded' }));
    const one = /^\/v1\/(payment_intents|charges|customers)\/([A-Za-z0-9_]+)$/.exec(req.path);
    if (req.method === 'GET' && one) return json(res, 200, { id: one[2], object: one[1].replace(/s$/, '') });
    if (req.method === 'GET' && /^\/v1\/[a-z_]+$/.test(req.path)) return json(res, 200, { object: 'list', data: [], has_more: false, url: req.path });
    json(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` } });
  });
}

function money(prefix: string, object: string, form: URLSearchParams, extra: Record<string, unknown>) {
  return {
    id: `${prefix}_${randomBytes(8).toString('hex')}`,
    object,
    amount: Number(form.get('amount')),
    currency: form.get('currency'),
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    ...extra,
  };
}

