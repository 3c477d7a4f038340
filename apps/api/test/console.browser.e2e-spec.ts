import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStub, type StubServer } from '@keyvault/testing';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { startProxy, type ProxyHarness } from '../../../test/harness/proxy';
import { ARTIFACTS_DIR, launchChromium, loopbackContext, screenshot, type LoopbackContext } from '../../../test/harness/browser';
import { eventually } from '../../../test/harness/wait';

/**
 * The operator console in real headless Chromium against the real api and proxy: what an
 * operator sees and does, end to end. Screenshots of every page go to test-artifacts/console/.
 */

const SHOTS = 'console';
/** Evaluated in the page (the test itself is compiled without DOM types). */
const SESSION_STORAGE = `Object.values(sessionStorage).join(' ')`;

/** A webhook receiver that accepts every delivery. */
async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keyvault-events`, server };
}

const portOf = (app: INestApplication) => (app.getHttpServer().address() as AddressInfo).port;

describe('operator console (headless Chromium)', () => {
  let api: ApiHarness;
  let browser: Browser;
  let base: string;
  let proxy: ProxyHarness;
  let stripe: StubServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tab: LoopbackContext | null = null;

  beforeAll(async () => {
    rmSync(`${ARTIFACTS_DIR}/${SHOTS}`, { recursive: true, force: true });
    // Webhook receivers and upstream stubs live on loopback in this test.
    api = await startApi({ KEYVAULT_ALLOW_PRIVATE_UPSTREAMS: 'true' });
    base = `http://127.0.0.1:${portOf(api.app)}`;
    stripe = await startStripeStub();
    proxy = await startProxy(api.db.url, api.config.KEYVAULT_MASTER_KEY, { KEYVAULT_UPSTREAM_STRIPE: stripe.url });
    receiver = await startReceiver();
    browser = await launchChromium();
  });

  afterEach(async (ctx) => {
    if (!tab) return;
    if (ctx.task.result?.state === 'fail') {
      await screenshot(tab.page, SHOTS, `failed-${ctx.task.name.replace(/\W+/g, '-').slice(0, 60)}`).catch(() => undefined);
    }
    // Everything the page loads is local, and it breaks none of its own policy.
    expect(tab.blocked).toEqual([]);
    expect(tab.cspViolations).toEqual([]);
    expect(tab.pageErrors).toEqual([]);
    await tab.context.close();
    tab = null;
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await stripe?.close();
    receiver?.server.close();
    await api?.close();
  });

  async function openTab(path = '/console/keys'): Promise<Page> {
    tab = await loopbackContext(browser);
    tab.page.setDefaultTimeout(10_000);
    await tab.page.goto(`${base}${path}`);
    return tab.page;
  }

  async function newTenant(name: string, scopes?: string[]): Promise<{ id: string; apiKey: string }> {
    const { body: t } = await api.admin().post('/tenants').send({ name }).expect(201);
    const { body: k } = await api
      .admin()
      .post(`/tenants/${t.id}/api-keys`)
      .send({ name: 'ops console', ...(scopes ? { scopes } : {}) })
      .expect(201);
    return { id: t.id, apiKey: k.api_key };
  }

  const asTenant = (apiKey: string) => ({
    get: (p: string) => api.http.get(p).set('Authorization', `Bearer ${apiKey}`),
    post: (p: string) => api.http.post(p).set('Authorization', `Bearer ${apiKey}`),
  });

  async function signIn(page: Page, token: string): Promise<void> {
    await page.getByLabel('Tenant API key or admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signedInAs(apiKey: string, path = '/console/keys'): Promise<Page> {
    const page = await openTab(path);
    await signIn(page, apiKey);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    return page;
  }

  /** A Stripe profile, a vault key for payment intents, and what the proxy needs to take it. */
  async function stripeKey(apiKey: string, label: string, cap = 100, extra: Record<string, unknown> = {}) {
    const tenant = asTenant(apiKey);
    await tenant
      .post('/credentials')
      .send({ name: 'client_stripe', vendor: 'stripe', keys: ['sk_test_console_0000000000001111'] })
      .expect(201);
    const { body: vk } = await tenant
      .post('/vault/keys')
      .send({ vendor: 'stripe', daily_usd_cap: cap, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '2h', label, ...extra })
      .expect(201);
    return vk as { id: string; vault_key: string };
  }

  function payment(vaultKey: string, amountCents: number, runId: string) {
    return fetch(`${proxy.url}/stripe/v1/payment_intents`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${vaultKey}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Run-Id': runId,
        'X-Conversation-Id': 'conv-7',
      },
      body: new URLSearchParams({ amount: String(amountCents), currency: 'usd' }).toString(),
    });
  }

  it('shows the api error as it came when the key is wrong', async () => {
    const page = await openTab();
    await screenshot(page, SHOTS, '01-sign-in');
    await signIn(page, 'kv_live_not_a_real_key_000000000000');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-message').textContent()).toBe('Invalid API key provided.');
    expect(await alert.locator('.error-code').textContent()).toBe('invalid_api_key');
    await screenshot(page, SHOTS, '02-sign-in-error');
  });

  it('signs in with a tenant API key kept in sessionStorage and sent only as a Bearer header', async () => {
    const { id, apiKey } = await newTenant('Key holder');
    const page = await openTab();
    const sent: Request[] = [];
    page.on('request', (r) => sent.push(r));
    await signIn(page, apiKey);
    await page.getByTestId('current-tenant').waitFor();
    expect(await page.getByTestId('current-tenant').textContent()).toBe(id);

    const me = sent.find((r) => new URL(r.url()).pathname === '/me')!;
    expect(me.headers()['authorization']).toBe(`Bearer ${apiKey}`);
    expect(sent.filter((r) => r.url().includes(apiKey))).toEqual([]);
    expect(page.url()).not.toContain(apiKey);
    expect(await page.evaluate<string>(SESSION_STORAGE)).toContain(apiKey);
    expect(await page.evaluate<string>(`Object.values(localStorage).join(' ') + document.cookie`)).not.toContain(apiKey);

    // A reload keeps the session (same tab); signing out forgets the key.
    await page.reload();
    await page.getByTestId('current-tenant').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Tenant API key or admin token').waitFor();
    expect(await page.evaluate<string>(SESSION_STORAGE)).not.toContain(apiKey);
  });

  it('signs the admin in with the token and a tenant picker, then acts in the chosen tenant', async () => {
    const { body: acme } = await api.admin().post('/tenants').send({ name: 'Acme Robotics' }).expect(201);
    const { body: globex } = await api.admin().post('/tenants').send({ name: 'Globex' }).expect(201);
    const page = await openTab();
    await signIn(page, api.config.KEYVAULT_ADMIN_TOKEN);
    const picker = page.getByRole('combobox', { name: /^tenant/i });
    await picker.waitFor();
    const options = await picker.locator('option').allTextContents();
    expect(options.some((o) => o.startsWith('Acme Robotics'))).toBe(true);
    expect(options.some((o) => o.startsWith('Globex'))).toBe(true);
    await picker.selectOption(globex.id);
    await screenshot(page, SHOTS, '03-tenant-picker');

    const tenantCall = page.waitForRequest((r) => new URL(r.url()).pathname === '/vault/keys');
    await page.getByRole('button', { name: 'Open tenant' }).click();
    const sent = await tenantCall;
    expect(sent.headers()['keyvault-tenant']).toBe(globex.id);
    expect(sent.headers()['authorization']).toBe(`Bearer ${api.config.KEYVAULT_ADMIN_TOKEN}`);
    expect(await page.getByTestId('current-tenant').textContent()).toBe('Globex');
    await page.getByText('No vault keys yet.').waitFor();
    await screenshot(page, SHOTS, '04-vault-keys-empty');

    // Switching tenants keeps the admin signed in and moves every call to the new tenant.
    await page.getByRole('button', { name: 'Switch tenant' }).click();
    await page.getByRole('combobox', { name: /^tenant/i }).selectOption(acme.id);
    const acmeCall = page.waitForRequest((r) => new URL(r.url()).pathname === '/vault/keys');
    await page.getByRole('button', { name: 'Open tenant' }).click();
    expect((await acmeCall).headers()['keyvault-tenant']).toBe(acme.id);
    expect(await page.getByTestId('current-tenant').textContent()).toBe('Acme Robotics');
  });

  it("shows a key's spend after a proxied call, revokes it from the page, and the proxy refuses it next", async () => {
    const { apiKey } = await newTenant('Client A');
    const vk = await stripeKey(apiKey, 'dify-chat-42-s1');
    const other = await asTenant(apiKey)
      .post('/vault/keys')
      .send({ vendor: 'stripe', daily_usd_cap: 20, allowed_endpoints: ['POST /v1/payment_intents'], expires_in: '30m', label: 'dify-chat-43-s1', metadata: { user_id: 'u_9' } })
      .expect(201);
    expect((await payment(vk.vault_key, 1234, 'run-1')).status).toBe(200);
    expect((await payment(other.body.vault_key, 1700, 'run-2')).status).toBe(200);
    // spent is what finished calls cost: booked by the proxy's next flush, a moment after the answer
    await eventually(async () => (await asTenant(apiKey).get(`/vault/keys/${vk.id}`)).body.spent_today_usd === 12.34, 'the payment to be booked');

    const page = await signedInAs(apiKey);
    const row = page.locator(`tr[data-key-id="${vk.id}"]`);
    await row.waitFor();
    expect(await row.locator('.spend-text').textContent()).toBe('$12.34 of $100.00');
    expect(await row.getByText('active', { exact: true }).count()).toBe(1);
    await screenshot(page, SHOTS, '05-vault-keys');

    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('dify-chat-42-s1').waitFor();
    await screenshot(page, SHOTS, '06-revoke-confirm');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await row.getByText('revoked', { exact: true }).waitFor();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);

    const refused = await payment(vk.vault_key, 100, 'run-3');
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('vault_key_revoked');
    // the other key still works
    expect((await payment(other.body.vault_key, 100, 'run-4')).status).toBe(200);

    // Revoke every key of a label: filter by it, then confirm.
    await page.getByLabel('Label').fill('dify-chat-43-s1');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('button', { name: /Revoke every “dify-chat-43-s1” key/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke all' }).click();
    await page.getByText('Revoked 1 vault key labelled “dify-chat-43-s1”.').waitFor();
    expect((await payment(other.body.vault_key, 100, 'run-5')).status).toBe(401);
  });

  it('lists the audit newest first, searchable by run id, and picks up new calls while open', async () => {
    const { apiKey } = await newTenant('Client B');
    const vk = await stripeKey(apiKey, 'dify-chat-77-s1', 10);
    expect((await payment(vk.vault_key, 250, 'run-a')).status).toBe(200);
    // Audit ids order by the millisecond; two calls inside one would have no defined order.
    await new Promise((r) => setTimeout(r, 5));
    expect((await payment(vk.vault_key, 1900, 'run-b')).status).toBe(429);

    const page = await signedInAs(apiKey, '/console/audit');
    const rows = page.locator('[data-testid="audit"] tbody tr');
    await rows.nth(1).waitFor();
    // newest first: the refusal, then the call that was served
    expect(await rows.nth(0).textContent()).toContain('daily_cap_exceeded');
    const served = rows.nth(1);
    expect(await served.textContent()).toContain('200');
    expect(await served.textContent()).toContain('$2.50');
    // the key's label comes with the profiles, which load beside the audit rows
    await served.getByText('••••1111').waitFor();
    expect(await served.textContent()).toContain('run-a');
    await screenshot(page, SHOTS, '07-audit');

    // A call made while the page is open shows up without a reload.
    expect((await payment(vk.vault_key, 100, 'run-c')).status).toBe(200);
    await page.locator('[data-testid="audit"] tbody tr', { hasText: 'run-c' }).waitFor();

    await page.getByLabel('Run id').fill('run-a');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/run_id=run-a/);
    await page.locator('[data-testid="audit"] tbody tr').first().getByText('run-a').waitFor();
    expect(await page.locator('[data-testid="audit"] tbody tr').count()).toBe(1);

    await page.getByLabel('Conversation id').fill('no-such-conversation');
    await page.getByLabel('Run id').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No calls match this search.').waitFor();
  });

  it("shows a captured call's request and response in the audit detail, credentials redacted", async () => {
    const { apiKey } = await newTenant('Client Capture');
    const vk = await stripeKey(apiKey, 'dify-chat-55-s1', 100, { capture: 'bodies' });
    expect((await payment(vk.vault_key, 777, 'run-captured')).status).toBe(200);

    const page = await signedInAs(apiKey, '/console/audit');
    const row = page.locator('[data-testid="audit"] tbody tr', { hasText: 'run-captured' });
    await row.waitFor();
    // the capture is sealed and stored just after the call: reopen until it is there
    const loaded = page.locator('[data-testid="audit-detail"][data-capture]');
    await expect
      .poll(
        async () => {
          await row.getByRole('button', { name: 'Details' }).click();
          const level = await loaded.getAttribute('data-capture');
          if (level !== 'bodies') await row.getByRole('button', { name: 'Hide' }).click();
          return level;
        },
        { timeout: 15_000 },
      )
      .toBe('bodies');
    const request = page.getByTestId('capture-request');
    expect(await request.getByTestId('capture-body').textContent()).toBe('amount=777&currency=usd');
    expect(await request.textContent()).toContain('[redacted]');
    expect(await request.textContent()).not.toContain('vault_key_');
    expect(await page.getByTestId('capture-response').getByTestId('capture-body').textContent()).toContain('"object":"payment_intent"');
    await screenshot(page, SHOTS, '08-audit-capture');
  });

  it('charts spend per hour, per day, top keys, profiles and refusals, checked by their data', async () => {
    const { apiKey } = await newTenant('Client Charts');
    const vk = await stripeKey(apiKey, 'dify-chat-66-s1', 10);
    expect((await payment(vk.vault_key, 250, 'run-chart-1')).status).toBe(200);
    expect((await payment(vk.vault_key, 123, 'run-chart-2')).status).toBe(200);
    expect((await payment(vk.vault_key, 1900, 'run-chart-3')).status).toBe(429);
    // the charts read the audit log: wait until the calls' outcomes are booked there
    await expect
      .poll(async () => {
        const u = (await asTenant(apiKey).get('/usage?group_by=vault_key').expect(200)).body;
        return [u.calls, u.total_usd, u.refusals.length];
      }, { timeout: 10_000 })
      .toEqual([3, 3.73, 1]);

    const page = await signedInAs(apiKey, '/console/usage');
    const chart = (id: string) => page.getByTestId(`chart-${id}`);
    const bars = async (id: string) => {
      await chart(id).locator('[data-key]').first().waitFor();
      const slots = chart(id).locator('[data-key]');
      const out: { key: string | null; usd: number; count: string | null }[] = [];
      for (let i = 0; i < (await slots.count()); i++) {
        const slot = slots.nth(i);
        out.push({ key: await slot.getAttribute('data-key'), usd: Number(await slot.getAttribute('data-usd')), count: await slot.getAttribute('data-count') });
      }
      return out;
    };
    const hourly = await bars('hourly');
    expect(hourly.length).toBeGreaterThanOrEqual(24);
    expect(hourly.at(-1)!.usd).toBe(3.73);
    expect(hourly.slice(0, -1).every((b) => b.usd === 0)).toBe(true);
    expect(await chart('hourly').getAttribute('data-total-usd')).toBe('3.73');
    const daily = await bars('daily');
    expect(daily.length).toBeGreaterThanOrEqual(30);
    expect(daily.at(-1)).toMatchObject({ key: new Date().toISOString().slice(0, 10), usd: 3.73 });
    expect(await bars('top-keys')).toEqual([{ key: vk.id, usd: 3.73, count: null }]);
    expect((await bars('profiles')).map((b) => b.usd)).toEqual([3.73]);
    expect((await bars('refusals')).map((b) => [b.key, b.count])).toEqual([['daily_cap_exceeded', '1']]);
    await screenshot(page, SHOTS, '12-usage');
  });

  it('shows credential profiles by last4, adds a key and retires one; a refusal shows as the api sent it', async () => {
    const { apiKey } = await newTenant('Client C');
    await asTenant(apiKey)
      .post('/credentials')
      .send({ name: 'client_c_openai', vendor: 'openai', keys: ['sk-proj-console-aaaa1111'], default: true })
      .expect(201);

    const page = await signedInAs(apiKey, '/console/credentials');
    const card = page.locator('[data-profile="client_c_openai"]');
    await card.getByText('••••1111').waitFor();
    expect(await card.textContent()).toContain('openai');
    expect(await card.textContent()).not.toContain('sk-proj-console');

    // Retiring the only key is refused by the api; its message and code show as they came.
    await card.getByRole('button', { name: 'Retire' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Retire key' }).click();
    const refusal = page.getByRole('dialog').getByRole('alert');
    await refusal.waitFor();
    const { body: profile } = await asTenant(apiKey).get('/credentials/client_c_openai').expect(200);
    const direct = await api.http
      .delete(`/credentials/${profile.id}/keys/${profile.keys[0].id}`)
      .set('Authorization', `Bearer ${apiKey}`);
    expect(await refusal.locator('.error-message').textContent()).toBe(direct.body.error.message);
    expect(await refusal.locator('.error-code').textContent()).toBe(direct.body.error.code);
    await screenshot(page, SHOTS, '08-api-error-in-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    // the modal closes in an effect after the render; until then the page behind it is inert and
    // typing into it is lost
    await page.getByRole('dialog').waitFor({ state: 'hidden' });

    await card.getByPlaceholder(/New openai key/).fill('sk-proj-console-bbbb2222');
    await card.getByRole('button', { name: 'Add key' }).click();
    await card.getByText('••••2222').waitFor();
    const firstKey = card.locator(`tr[data-key-id="${profile.keys[0].id}"]`);
    await firstKey.getByRole('button', { name: 'Retire' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Retire key' }).click();
    await firstKey.getByText('retired', { exact: true }).waitFor();
    await screenshot(page, SHOTS, '09-credentials');
  });

  it('adds a webhook, shows its secret once, and lists its recent deliveries', async () => {
    const { apiKey } = await newTenant('Client D');
    const page = await signedInAs(apiKey, '/console/webhooks');
    await page.getByText('No webhooks yet.').waitFor();

    // The api's validation error, as it came.
    await page.getByLabel('URL').fill('not a url');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByTestId('add-webhook').getByRole('alert').waitFor();

    await page.getByLabel('URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = page.getByTestId('webhook-secret');
    await secret.waitFor();
    expect(await secret.locator('code').textContent()).toMatch(/^whsec_/);
    const row = page.locator('[data-testid="webhooks"] tbody tr', { hasText: receiver.url });
    await row.waitFor();

    // A revocation is one event owed to this webhook.
    const vk = await stripeKey(apiKey, 'dify-chat-90-s1');
    await api.http.delete(`/vault/keys/${vk.id}`).set('Authorization', `Bearer ${apiKey}`).expect(200);
    await row.getByRole('button', { name: 'Deliveries' }).click();
    await page.getByTestId('deliveries').getByText('vault_key.revoked').waitFor();
    // Attempt by attempt: the receiver's answer once it has come, then one more on Redeliver.
    const delivery = page.getByTestId('deliveries').locator('tbody tr[data-delivery-id]');
    const refreshed = async (attr: string) => {
      await page.getByTestId('deliveries').getByRole('button', { name: 'Refresh' }).click();
      return delivery.getAttribute(attr);
    };
    await expect.poll(() => refreshed('data-status'), { timeout: 15_000 }).toBe('succeeded');
    await delivery.getByRole('button', { name: 'Attempts' }).click();
    const attempts = page.getByTestId('attempts').locator('li');
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().getAttribute('data-status')).toBe('204');
    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => refreshed('data-attempt-count'), { timeout: 15_000 }).toBe('2');
    await expect.poll(() => refreshed('data-status'), { timeout: 15_000 }).toBe('succeeded');
    await screenshot(page, SHOTS, '10-webhooks');

    await page.reload();
    await page.locator('[data-testid="webhooks"] tbody tr', { hasText: receiver.url }).waitFor();
    expect(await page.getByTestId('webhook-secret').count()).toBe(0);
  });

  it('answers a tenant API key without the scope with the api error on the page', async () => {
    const { apiKey } = await newTenant('Issuer only', ['vault_keys:issue']);
    const page = await signedInAs(apiKey);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-code').textContent()).toBe('insufficient_scope');
    expect(await alert.locator('.error-message').textContent()).toBe("This API key lacks the scope 'vault_keys:read'.");
    await screenshot(page, SHOTS, '11-insufficient-scope');
  });
});
