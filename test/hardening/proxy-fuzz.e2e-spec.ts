import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '@keyvault/errors';
import { startAnthropicStub, startOpenAiStub, startResendStub, startStripeStub, startTwilioStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../harness/api';
import { guardLoopbackOnly, type LoopbackGuard } from '../harness/loopback-guard';
import { startProxy, type ProxyHarness } from '../harness/proxy';
import { proxyFixtures, type ProxyFixtures } from '../harness/proxy-fixtures';
import { eventually } from '../harness/wait';

/**
 * What an agent that loops or is prompt-injected may send through the proxy: for every vendor,
 * on its priced and free endpoints, arbitrary JSON, valid bodies with fields retyped, arbitrary
 * forms (repeated and bracketed money fields included), bytes that are no format at all. Every
 * answer must be the vendor's (the stub's) or Keyvault's own refusal with a code from the one
 * list and its status, never a Keyvault 5xx; and the money must add up afterwards: each key's
 * spend is exactly the sum of its audit rows' costs, nothing stays reserved, and every call the
 * key made has its audit row.
 */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS = 12 * SCALE;

const ACCOUNT_SID = `AC${'2b'.repeat(16)}`;

type Encoding = 'json' | 'form';
interface Target {
  vendor: string;
  encoding: Encoding;
  /** method and path under /{vendor} */
  routes: Array<[string, string]>;
  /** a body the vendor would accept on the first route, to mutate */
  valid: Record<string, unknown>;
}

const TARGETS: Target[] = [
  {
    vendor: 'openai',
    encoding: 'json',
    routes: [['POST', '/v1/chat/completions'], ['POST', '/v1/embeddings'], ['POST', '/v1/responses'], ['POST', '/v1/completions'], ['GET', '/v1/models']],
    valid: { model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
  },
  {
    vendor: 'anthropic',
    encoding: 'json',
    routes: [['POST', '/v1/messages'], ['POST', '/v1/messages/count_tokens'], ['GET', '/v1/models']],
    valid: { model: 'claude-3-5-haiku-latest', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
  },
  {
    vendor: 'stripe',
    encoding: 'form',
    routes: [['POST', '/v1/payment_intents'], ['POST', '/v1/charges'], ['POST', '/v1/refunds'], ['POST', '/v1/payment_intents/pi_1/confirm'], ['POST', '/v1/customers'], ['GET', '/v1/balance']],
    valid: { amount: '1000', currency: 'usd' },
  },
  {
    vendor: 'twilio',
    encoding: 'form',
    routes: [['POST', `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`], ['POST', `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`], ['GET', `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`]],
    valid: { To: '+15005550006', From: '+15005550001', Body: 'hello' },
  },
  {
    vendor: 'resend',
    encoding: 'json',
    routes: [['POST', '/emails'], ['POST', '/emails/batch'], ['GET', '/emails/em_1']],
    valid: { from: 'a@example.com', to: ['b@example.com'], subject: 'hi', text: 'hello' },
  },
];

/** Values that have broken parsers and pricing before: huge, negative, fractional, exotic numbers and text. */
const nasty = fc.constantFrom<unknown>(
  '', ' ', '\u0000', '\ud800', '😀'.repeat(20), 'x'.repeat(20_000), '-1', '1e309', 'NaN', 'Infinity', '0x10', '1_000', '00012', '9'.repeat(40),
  -1, 0, -0, 0.5, 1e308, 2 ** 53 + 1, 1e-7, true, false, null, [], {}, [[[[[[[[]]]]]]]], { $gt: '' }, { __proto__: { polluted: 1 } },
  'gpt-4o-mini', 'claude-3-5-haiku-latest', 'usd', 'jpy', 'bhd', 'eur',
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nasty);
const formKeys = fc.constantFrom('amount', 'currency', 'amount[]', 'amount[0]', 'amount_to_capture', 'application_fee_amount', 'To', 'From', 'Body', 'MediaUrl', 'model', 'max_tokens', 'x', '', '[]', '__proto__');
const formText = fc.oneof(fc.string({ maxLength: 40 }), nasty.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')), fc.integer().map(String));

function formBody(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v.toWellFormed())}`).join('&');
}

describe('hostile bodies through the proxy, on every vendor (an agent looping or prompt-injected)', () => {
  let api: ApiHarness;
  let guard: LoopbackGuard;
  let fx: ProxyFixtures;
  let proxy: ProxyHarness;
  const stubs: StubServer[] = [];
  const keys = new Map<string, { id: string; token: string }>();
  const sentByKey = new Map<string, number>();
  const byStatus = new Map<number, number>();

  beforeAll(async () => {
    guard = guardLoopbackOnly();
    api = await startApi();
    fx = await proxyFixtures(api);
    const [openai, anthropic, stripe, twilio, resend] = await Promise.all([startOpenAiStub(), startAnthropicStub(), startStripeStub(), startTwilioStub(), startResendStub()]);
    stubs.push(openai, anthropic, stripe, twilio, resend);
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, {
      KEYVAULT_UPSTREAM_OPENAI: openai.url,
      KEYVAULT_UPSTREAM_ANTHROPIC: anthropic.url,
      KEYVAULT_UPSTREAM_STRIPE: stripe.url,
      KEYVAULT_UPSTREAM_TWILIO: twilio.url,
      KEYVAULT_UPSTREAM_RESEND: resend.url,
    });
    const tenantId = await fx.tenant('Fuzzed through the proxy');
    const secrets: Record<string, string> = {
      openai: 'sk-fuzz-openai-key-0001',
      anthropic: 'sk-ant-api03-fuzz-key-0001',
      stripe: 'sk_test_fuzz_stripe_key_0001',
      twilio: `${ACCOUNT_SID}:fuzz-twilio-auth-token-0001`,
      resend: 're_fuzz_resend_key_0001',
    };
    for (const { vendor } of TARGETS) {
      const credentialId = (await fx.credential(tenantId, { vendor, keys: [secrets[vendor]] })).id;
      // duplicate_window 0: a repeated body is the fuzzer's, not a duplicate charge to refuse
      keys.set(vendor, await fx.vaultKey(tenantId, { vendor, credentialId, capUsd: 1_000_000, allowed: ['* /**'], extra: { duplicate_window: '0' } }));
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all(stubs.map((s) => s.close()));
    await fx?.close();
    await api?.close();
    guard?.restore();
    console.info(`proxy fuzz: ${[...sentByKey.values()].reduce((a, b) => a + b, 0)} calls, answers by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`);
  });

  async function send(target: Target, method: string, path: string, body: string | null, contentType: string): Promise<void> {
    const key = keys.get(target.vendor)!;
    const res = await fetch(`${proxy.url}/${target.vendor}${path}`, {
      method,
      headers: { authorization: `Bearer ${key.token}`, ...(body === null ? {} : { 'content-type': contentType }) },
      body: body === null ? undefined : body,
    });
    const text = await res.text();
    sentByKey.set(key.id, (sentByKey.get(key.id) ?? 0) + 1);
    byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
    const what = `${method} /${target.vendor}${path} ${(body ?? '').slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
    let parsed: { error?: { code?: string; type?: string } } | null = null;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not JSON: a vendor's answer, never Keyvault's
    }
    const code = parsed?.error?.code as ErrorCode | undefined;
    if (code && code in ERROR_CODES) {
      // Keyvault's own answer: a refusal with its listed status, never an internal error or a
      // failure to reach a healthy loopback stub
      expect(ERROR_CODES[code], what).toMatchObject({ status: res.status, type: parsed!.error!.type });
      expect(['internal_error', 'upstream_unreachable', 'upstream_timeout', 'vault_unavailable'], what).not.toContain(code);
    }
    expect(res.status, what).toBeLessThan(500);
  }

  for (const target of TARGETS) {
    it(`${target.vendor}: answers every hostile body with the vendor's answer or a coded refusal`, async () => {
      const route = fc.constantFrom(...target.routes);
      const contentType = target.encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
      // whole bodies of anything, in the vendor's encoding and in the other one
      await fc.assert(
        fc.asyncProperty(route, anyValue, fc.boolean(), async ([method, path], value, asForm) => {
          const body = method === 'GET' ? null : asForm ? formBody([['x', JSON.stringify(value) ?? '']]) : JSON.stringify(value);
          await send(target, method, path, body, asForm ? 'application/x-www-form-urlencoded' : 'application/json');
        }),
        { numRuns: RUNS },
      );
      // valid bodies with one to three fields deleted, retyped or added
      const mutation = fc.array(fc.tuple(fc.constantFrom(...Object.keys(target.valid), 'model', 'stream', 'amount', 'n', 'x'), fc.option(anyValue, { nil: undefined })), { minLength: 1, maxLength: 3 });
      await fc.assert(
        fc.asyncProperty(route.filter(([m]) => m === 'POST'), mutation, async ([method, path], edits) => {
          const fields: Record<string, unknown> = { ...target.valid };
          for (const [name, value] of edits) {
            if (value === undefined) delete fields[name];
            else Object.defineProperty(fields, name, { value, enumerable: true, configurable: true, writable: true });
          }
          const body =
            target.encoding === 'json'
              ? JSON.stringify(fields)
              : formBody(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? '']));
          await send(target, method, path, body, contentType);
        }),
        { numRuns: RUNS * 2 },
      );
      if (target.encoding === 'form') {
        // arbitrary forms: money fields repeated, bracketed, empty, in any order
        await fc.assert(
          fc.asyncProperty(route.filter(([m]) => m === 'POST'), fc.array(fc.tuple(formKeys, formText), { maxLength: 6 }), async ([method, path], pairs) => {
            await send(target, method, path, formBody([...Object.entries(target.valid).map(([k, v]) => [k, String(v)] as [string, string]), ...pairs]), contentType);
          }),
          { numRuns: RUNS * 2 },
        );
      }
      // bytes that are no format at all
      for (const raw of ['\u0000\u0001\u0002', '{"model": "gpt-4o-mini", "messages": [', '%', '%zz=1&amount=%ff', '\uffff'.repeat(100), '[]', 'null']) {
        await send(target, 'POST', target.routes[0][1], raw, contentType);
      }
    });
  }

  it('books exactly: every key spent the sum of its audit rows, holds nothing, and has a row for every call it made', async () => {
    for (const [vendor, key] of keys) {
      const settled = await eventually(async () => {
        // summed over days: a run that crosses midnight UTC books on two
        const [spend] = await fx.query<{ spent_nanos: string; reserved_nanos: string }>(
          'SELECT sum(spent_nanos)::text AS spent_nanos, sum(reserved_nanos)::text AS reserved_nanos FROM vault_key_spend WHERE vault_key_id = $1',
          [key.id],
        );
        const [rows] = await fx.query<{ n: string; cost: string }>('SELECT count(*) AS n, coalesce(sum(cost_nanos), 0)::text AS cost FROM audit_log WHERE vault_key_id = $1', [key.id]);
        return spend?.reserved_nanos === '0' && Number(rows.n) === sentByKey.get(key.id) ? { spend, rows } : undefined;
      }, `${vendor}: every call audited and nothing reserved`);
      expect(settled.spend.spent_nanos, vendor).toBe(settled.rows.cost);
    }
    expect(guard.refused).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
