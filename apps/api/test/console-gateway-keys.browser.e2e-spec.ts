import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from '../../../test/harness/api';
import { launchChromium, loopbackContext, screenshot, type LoopbackContext } from '../../../test/harness/browser';

/** The console's Gateway keys page in real headless Chromium against the real api. */
describe('operator console: gateway keys (headless Chromium)', () => {
  let api: ApiHarness;
  let browser: Browser;
  let base: string;
  let tab: LoopbackContext | null = null;

  beforeAll(async () => {
    api = await startApi();
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterEach(async () => {
    if (!tab) return;
    expect(tab.blocked).toEqual([]);
    expect(tab.cspViolations).toEqual([]);
    expect(tab.pageErrors).toEqual([]);
    await tab.context.close();
    tab = null;
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  async function signedIn(apiKey: string): Promise<Page> {
    tab = await loopbackContext(browser);
    tab.page.setDefaultTimeout(10_000);
    await tab.page.goto(`${base}/console/gateway-keys`);
    await tab.page.getByLabel('Tenant API key or admin token').fill(apiKey);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByRole('navigation', { name: 'Pages' }).waitFor();
    return tab.page;
  }

  it('creates a gateway key, shows it once, and revokes it', async () => {
    const { body: t } = await api.admin().post('/tenants').send({ name: 'Gateway tenant' }).expect(201);
    const { body: k } = await api.admin().post(`/tenants/${t.id}/api-keys`).send({ name: 'ops console' }).expect(201);
    const page = await signedIn(k.api_key as string);
    await page.getByText('No gateway keys yet.').waitFor();

    await page.getByLabel('Name of the new gateway key').fill('dify production');
    await page.getByRole('button', { name: 'Create gateway key' }).click();
    const secret = page.getByTestId('gateway-key-secret');
    await secret.waitFor();
    const token = (await secret.locator('code').textContent()) ?? '';
    expect(token).toMatch(/^kv_gw_[0-9a-z]{58}$/);
    const row = page.locator('tbody tr', { hasText: 'dify production' });
    await row.waitFor();
    expect(await row.textContent()).toContain(token.slice(-4));
    await screenshot(page, 'console', '20-gateway-keys');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Revoked the gateway key dify production.').waitFor();
    const { body: list } = await api.http.get('/gateway-keys').set('Authorization', `Bearer ${k.api_key as string}`).expect(200);
    expect(list.data[0]).toMatchObject({ name: 'dify production', status: 'revoked' });

    await page.reload();
    await page.locator('tbody tr', { hasText: 'dify production' }).waitFor();
    expect(await page.getByTestId('gateway-key-secret').count()).toBe(0);
  });
});
