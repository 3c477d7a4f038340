import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '@keyvault/crypto';
import { eventBody, signatureHeader } from './webhook-signature';

describe('webhook signatures', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 under the whole secret', () => {
    const secret = 'whsec_0123456789abcdefghjkmnpqrstvwx';
    const body = '{"id":"evt_1"}';
    const expected = createHmac('sha256', secret).update(`1764489600.${body}`).digest('hex');
    expect(signatureHeader(new Secret(secret), body, 1_764_489_600)).toBe(`t=1764489600,v1=${expected}`);
    expect(signatureHeader(new Secret(secret), body, 1_764_489_601)).not.toBe(`t=1764489601,v1=${expected}`);
  });

  it('shows money as USD and keeps the rest of the payload', () => {
    const body = eventBody({
      id: 'evt_1',
      type: 'vault_key.cap_threshold',
      created_at: new Date('2026-11-30T10:00:00Z'),
      payload: { vault_key_id: 'vk_1', day: '2026-11-30', daily_usd_cap_nanos: '100000000000', spent_nanos: '80000001000', threshold_pct: 80 },
    });
    expect(JSON.parse(body)).toEqual({
      id: 'evt_1',
      type: 'vault_key.cap_threshold',
      created_at: '2026-11-30T10:00:00.000Z',
      data: { vault_key_id: 'vk_1', day: '2026-11-30', daily_usd_cap: 100, spent_today_usd: 80.000001, threshold_pct: 80 },
    });
  });
});
