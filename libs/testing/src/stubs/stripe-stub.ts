import { randomBytes } from 'node:crypto';
import { json, startStubServer, type SeenRequest, type StubServer } from './stub-server';

export interface StripeStub extends StubServer {
  /** the objects POSTs created, oldest first (a replayed idempotent request creates none) */
  created(): Array<{ id: string; object: string; amount: number }>;
}

type Answer = { status: number; body: Record<string, unknown> };

/**
 * A loopback stand-in for Stripe's form-encoded v1 API: payment intents, charges, reads. POSTs
 * honour `Idempotency-Key` as Stripe does: the same key with the same parameters (in any order) is answered the first
 * response again, with `Idempotent-Replayed: true`, and creates nothing; with another body,
 * 400 idempotency_error.
 */
export async function startStripeStub(): Promise<StripeStub> {
  const created: Array<{ id: string; object: string; amount: number }> = [];
  const answered = new Map<string, { body: string; answer: Answer }>();
  const stub = await startStubServer((req, res) => {
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || typeof key !== 'string') {
      const a = answer(req);
      return json(res, a.status, a.body);
    }
    const first = answered.get(key);
    if (first && first.body !== params(req.body)) {
      return json(res, 400, {
        error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' },
      });
    }
    if (first) return json(res, first.answer.status, first.answer.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
    const a = answer(req);
    answered.set(key, { body: params(req.body), answer: a });
    json(res, a.status, a.body, { 'idempotency-key': key });
  });
  return { ...stub, created: () => [...created] };

  function answer(req: SeenRequest): Answer {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (req.method === 'POST' && req.path === '/v1/payment_intents') {
      return ok(money('pi', 'payment_intent', form, { status: 'requires_payment_method', client_secret: `pi_secret_${randomBytes(6).toString('hex')}` }));
    }
    if (req.method === 'POST' && req.path === '/v1/charges') return ok(money('ch', 'charge', form, { status: 'succeeded', paid: true }));
    if (req.method === 'POST' && req.path === '/v1/refunds') return ok(money('re', 'refund', form, { status: 'succeeded' }));
    const one = /^\/v1\/(payment_intents|charges|customers)\/([A-Za-z0-9_]+)$/.exec(req.path);
    if (req.method === 'GET' && one) return ok({ id: one[2], object: one[1].replace(/s$/, '') });
    if (req.method === 'GET' && /^\/v1\/[a-z_]+$/.test(req.path)) return ok({ object: 'list', data: [], has_more: false, url: req.path });
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` } } };
  }

  function money(prefix: string, object: string, form: URLSearchParams, extra: Record<string, unknown>): Record<string, unknown> {
    const obj = {
      id: `${prefix}_${randomBytes(8).toString('hex')}`,
      object,
      amount: Number(form.get('amount')),
      currency: form.get('currency'),
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      ...extra,
    };
    created.push({ id: obj.id, object, amount: obj.amount });
    return obj;
  }
}

const ok = (body: Record<string, unknown>): Answer => ({ status: 200, body });

/** A form body's parameters in name order (Stripe compares parameters, not bytes). */
const params = (body: Buffer): string =>
  [...new URLSearchParams(body.toString('utf8'))].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
