import { describe, expect, it } from 'vitest';
import { assembleSse, captureBody, redactHeaders, redactSecrets, REDACTED } from './capture-redaction';

describe('capture redaction', () => {
  it.each([
    ['sk-proj-AbCdEf0123456789xyz', 'OpenAI'],
    ['sk-ant-api03-AbCdEf0123456789', 'Anthropic'],
    ['sk_live_51HabcDEF0123456789', 'Stripe secret'],
    ['sk_test_51HabcDEF0123456789', 'Stripe test secret'],
    ['rk_live_51HabcDEF0123456789', 'Stripe restricted'],
    ['vault_key_eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ2ayJ9.c2ln', 'vault key'],
    ['kv_live_0123456789abcdefghjk', 'tenant API key'],
    ['re_123abc45_AbCdEfGhIjKlMnOp', 'Resend'],
    ['SK0123456789abcdef0123456789abcdef', 'Twilio API key SID'],
    ['AC0123456789abcdef0123456789abcdef:0123456789abcdef0123', 'Twilio SID:token'],
  ])('takes %s (%s) out of text', (secret) => {
    const out = redactSecrets(`before ${secret} after&x=${secret}`);
    expect(out).toBe(`before ${REDACTED} after&x=${REDACTED}`);
  });

  it('keeps what is not a key: card tokens, ids, a Twilio account SID in a path', () => {
    const text = 'amount=2000&currency=usd&payment_method=pm_card_visa&source=tok_visa&customer=cus_123 /Accounts/AC0123456789abcdef0123456789abcdef/Messages.json pre_order_identifier';
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts credential headers by name and key formats in the others', () => {
    expect(
      redactHeaders({
        Authorization: 'Bearer vault_key_abc.def.ghi',
        'x-api-key': 'anything',
        'X-Auth-Token': 'x',
        'stripe-signature': 't=1,v1=abc',
        cookie: 'a=b',
        'content-type': 'application/x-www-form-urlencoded',
        'x-note': 'uses sk_live_51HabcDEF0123456789',
        'accept': ['a', 'b'],
      }),
    ).toEqual({
      authorization: REDACTED,
      'x-api-key': REDACTED,
      'x-auth-token': REDACTED,
      'stripe-signature': REDACTED,
      cookie: REDACTED,
      'content-type': 'application/x-www-form-urlencoded',
      'x-note': `uses ${REDACTED}`,
      accept: 'a, b',
    });
  });

  it('cuts a body after redacting it, and drops the word the cut went through', () => {
    const body = Buffer.from(`a=${'x'.repeat(20)}&key=sk_live_51HabcDEF0123456789&tail=abcdefghijklmnop`);
    const whole = captureBody(body, body.length, 1000);
    expect(whole).toEqual({ text: `a=${'x'.repeat(20)}&key=${REDACTED}&tail=abcdefghijklmnop`, encoding: 'utf8', bytes: body.length, truncated: false });
    const cut = captureBody(body, body.length, 30);
    expect(cut.truncated).toBe(true);
    expect(cut.text).toBe(`a=${'x'.repeat(20)}&key=[`); // 30 bytes of the redacted text, less the cut word
    // a body the collector stopped reading mid-key: the fragment is dropped
    const partial = captureBody(Buffer.from('x=1&key=sk_live_51Ha'), 5000, 1000);
    expect(partial).toMatchObject({ text: 'x=1&key=', truncated: true, bytes: 5000 });
  });

  it('keeps binary bodies as base64', () => {
    const bin = Buffer.from([0, 1, 2, 255]);
    expect(captureBody(bin, 4, 10)).toEqual({ text: bin.toString('base64'), encoding: 'base64', bytes: 4, truncated: false });
  });

  it('assembles OpenAI and Anthropic streams into text and usage', () => {
    const openai = [
      'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}',
      'data: {"choices":[{"delta":{"content":"Hel"}}]}',
      'data: {"choices":[{"delta":{"content":"lo"}}]}',
      'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}',
      'data: [DONE]',
      '',
    ].join('\n\n');
    expect(assembleSse(openai)).toEqual({ text: 'Hello', usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }, events: 4 });
    const anthropic = [
      'event: message_start',
      'data: {"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}',
      'event: content_block_delta',
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi there"}}',
      'event: message_delta',
      'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}',
    ].join('\n');
    expect(assembleSse(anthropic)).toEqual({ text: 'Hi there', usage: { input_tokens: 9, output_tokens: 3 }, events: 3 });
  });
});
