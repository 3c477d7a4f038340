import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSpendEvents, withTenant } from '@keyvault/db';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { mimePart, startSmtpSink } from './support/smtp-sink';
import { slackText, startSlackStub } from './support/slack-stub';

/** Fast retries; private targets allowed so the loopback Slack stub passes the URL rules, as in webhook-delivery. */
const FAST = {
  KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true',
  KEYVAULT_WEBHOOK_POLL_INTERVAL_MS: '50',
  KEYVAULT_WEBHOOK_BACKOFF_BASE_MS: '20',
  KEYVAULT_WEBHOOK_TIMEOUT_MS: '1500',
  KEYVAULT_WEBHOOK_MAX_ATTEMPTS: '5',
  KEYVAULT_PUBLIC_API_URL: 'https://keyvault.example.com',
  KEYVAULT_SMTP_FROM: 'Keyvault Alerts <alerts@keyvault.example.com>',
};
const CAP = 100_000_000_000n; // $100 in nano-dollars

interface Attempt {
  at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
}
interface Delivery {
  id: string;
  status: string;
  in_flight: boolean;
  attempt_count: number;
  attempts: Attempt[];
}

describe('alert channels: Slack and email', () => {
  let api: ApiHarness;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const closers: (() => Promise<void>)[] = [];
  let tenant: string;
  let vaultKeyId: string;

  const admin = () => {
    const a = api.admin();
    return { get: (p: string) => a.get(p).set('Keyvault-Tenant', tenant), post: (p: string) => a.post(p).set('Keyvault-Tenant', tenant) };
  };
  const deliveries = async (hookId: string): Promise<Delivery[]> => (await admin().get(`/webhooks/${hookId}/deliveries`).expect(200)).body.data;
  /** The key's spend for a day moves across 80% of its $100 cap, as the proxy's settlement does. */
  const spend = (day: string, before: bigint, after: bigint) =>
    withTenant(api.app.get(DataSource), tenant, (m) => enqueueSpendEvents(m, { tenantId: tenant, vaultKeyId, day, before, after, cap: CAP }));

  beforeAll(async () => {
    smtp = await startSmtpSink();
    closers.push(smtp.close);
    api = await startApi({ ...FAST, KEYVAULT_SMTP_URL: smtp.url });
    tenant = (await api.admin().post('/tenants').send({ name: 'Acme Support' }).expect(201)).body.id;
    await admin().post('/credentials').send({ name: 'acme_stripe', vendor: 'stripe', keys: ['sk_test_51AcmeAlertChannels0000000000'] }).expect(201);
    const vk = await admin()
      .post('/vault/keys')
      .send({ vendor: 'stripe', daily_usd_cap: 100, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '2h', label: 'dify-chat-42' })
      .expect(201);
    vaultKeyId = vk.body.id;
  });
  afterAll(async () => {
    await api?.close();
    for (const close of closers) await close();
  });

  it('a cap crossing at 80% sends one Slack message and one email with the right figures', async () => {
    const slack = await startSlackStub();
    closers.push(slack.close);
    const slackHook = (await admin().post('/webhooks').send({ kind: 'slack', url: slack.url, events: ['vault_key.cap_threshold'] }).expect(201)).body;
    expect(slackHook).not.toHaveProperty('secret');
    const emailHook = (
      await admin().post('/webhooks').send({ kind: 'email', to: ['ops@acme.example', 'cfo@acme.example'], events: ['vault_key.cap_threshold'] }).expect(201)
    ).body;
    expect(emailHook).toMatchObject({ kind: 'email', url: null, to: ['ops@acme.example', 'cfo@acme.example'] });

    await spend('2026-11-30', 79_990_000_000n, 80_250_000_000n); // $79.99 → $80.25: crosses 80%
    await spend('2026-11-30', 80_250_000_000n, 85_000_000_000n); // further spend the same day: no second alert
    for (const hook of [slackHook, emailHook]) {
      await expect.poll(async () => (await deliveries(hook.id)).map((d) => d.status), { timeout: 15_000 }).toEqual(['succeeded']);
    }
    await new Promise((r) => setTimeout(r, 300)); // several worker rounds: nothing more is sent

    expect(slack.posts).toHaveLength(1);
    const [post] = slack.posts;
    expect(post.path).toBe('/services/T0001/B0001/abcdefghijklmnop');
    expect(post.body.text).toBe('Keyvault: vault key dify-chat-42 spent 80.2% of its daily cap (threshold 80%)');
    const link = `https://keyvault.example.com/console/audit?vault_key=${vaultKeyId}`;
    const shown = slackText(post);
    for (const fact of [`dify-chat-42 (${vaultKeyId})`, 'Acme Support', '$80.25', '$100.00', '80.2%', '2026-11-30', link]) expect(shown).toContain(fact);
    expect(post.body.blocks.map((b) => b.type)).toEqual(['section', 'section', 'actions']);

    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail.from).toBe('alerts@keyvault.example.com');
    expect(mail.to.sort()).toEqual(['cfo@acme.example', 'ops@acme.example']);
    expect(mail.raw).toMatch(/^Subject: Keyvault: vault key dify-chat-42 spent 80\.2% of its daily cap/m);
    const text = mimePart(mail.raw, 'text/plain');
    const html = mimePart(mail.raw, 'text/html');
    expect(text).toContain('Spent today: $80.25');
    expect(text).toContain('Daily cap: $100.00');
    expect(text).toContain('Percent of cap: 80.2%');
    expect(text).toContain('Tenant: Acme Support');
    expect(text).toContain(`Open in console: ${link}`);
    expect(html).toContain('<th align="left">Spent today</th><td>$80.25</td>');
    expect(html).toContain('<td>$100.00</td>');
    expect(html).toContain(`<a href="${link}">`);

    const [emailDelivery] = await deliveries(emailHook.id);
    expect(emailDelivery.attempts).toEqual([{ at: expect.any(String), status: 250, duration_ms: expect.any(Number), error: null, response_excerpt: expect.stringMatching(/^250 /) }]);
  });

  it('a refused first Slack try is retried, with both attempts listed, and can be redelivered', async () => {
    const slack = await startSlackStub((n) => (n === 1 ? [500, 'rollup_error'] : [200, 'ok']));
    closers.push(slack.close);
    const hook = (await admin().post('/webhooks').send({ kind: 'slack', url: slack.url, events: ['vault_key.cap_threshold'] }).expect(201)).body;
    await spend('2026-12-01', 0n, 90_000_000_000n);

    await expect.poll(async () => (await deliveries(hook.id))[0]?.status, { timeout: 15_000 }).toBe('succeeded');
    const [listed] = await deliveries(hook.id);
    const one = (await admin().get(`/webhooks/${hook.id}/deliveries/${listed.id}`).expect(200)).body;
    expect(one).toEqual(listed);
    expect(one).toMatchObject({ object: 'webhook_delivery', status: 'succeeded', in_flight: false, attempt_count: 2, last_status_code: 200 });
    expect(one.attempts).toEqual([
      { at: expect.any(String), status: 500, duration_ms: expect.any(Number), error: 'receiver answered HTTP 500', response_excerpt: 'rollup_error' },
      { at: expect.any(String), status: 200, duration_ms: expect.any(Number), error: null, response_excerpt: 'ok' },
    ]);
    expect(Date.parse(one.attempts[0].at)).toBeLessThan(Date.parse(one.attempts[1].at));
    expect(slack.posts.map((p) => p.answered)).toEqual([500, 200]);
    expect(slack.posts[0].body).toEqual(slack.posts[1].body);

    const again = await admin().post(`/webhooks/${hook.id}/deliveries/${listed.id}/redeliver`).expect(202);
    expect(again.body).toMatchObject({ id: listed.id, status: 'pending' });
    await expect.poll(async () => (await deliveries(hook.id))[0]?.attempt_count, { timeout: 15_000 }).toBe(3);
    await expect.poll(async () => (await deliveries(hook.id))[0]?.status, { timeout: 15_000 }).toBe('succeeded');
    expect(slack.posts).toHaveLength(3);
    await admin().get(`/webhooks/${hook.id}/deliveries/whd_missing`).expect(404);
  });

  it('refuses to redeliver while an attempt is in flight (409 delivery_in_progress)', async () => {
    const slack = await startSlackStub((n) => (n === 1 ? 'hang' : [200, 'ok']));
    closers.push(slack.close);
    const hook = (await admin().post('/webhooks').send({ kind: 'slack', url: slack.url, events: ['vault_key.cap_threshold'] }).expect(201)).body;
    await spend('2026-12-02', 0n, 90_000_000_000n);
    await expect.poll(() => slack.posts.length, { timeout: 15_000 }).toBe(1);
    const [inFlight] = await deliveries(hook.id);
    expect(inFlight.in_flight).toBe(true);
    const refused = await admin().post(`/webhooks/${hook.id}/deliveries/${inFlight.id}/redeliver`).expect(409);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'delivery_in_progress' });

    // the hung attempt times out, is listed with its error, and the retry succeeds
    await expect.poll(async () => (await deliveries(hook.id))[0]?.status, { timeout: 15_000 }).toBe('succeeded');
    const [done] = await deliveries(hook.id);
    expect(done.attempts.map((a) => [a.status, a.error])).toEqual([
      [null, 'timed out after 1500 ms'],
      [200, null],
    ]);
  });
});
