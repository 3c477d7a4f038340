import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (.ci/apt-packages installs it); playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots a person can look at after a run; test-artifacts/ is gitignored. */
export const ARTIFACTS_DIR = resolve(__dirname, '../../test-artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (.ci/apt-packages lists it) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface LoopbackContext {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to send anywhere but this machine (each one aborted). */
  blocked: string[];
  /** Errors the page's scripts threw. */
  pageErrors: string[];
  /** Content-Security-Policy violations Chromium reported: the page must cause none. */
  cspViolations: string[];
}

/** A fresh browser context whose every request off loopback is aborted before it leaves. */
export async function loopbackContext(browser: Browser): Promise<LoopbackContext> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 }, deviceScaleFactor: 1 });
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return { context, page, blocked, pageErrors, cspViolations };
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  const folder = resolve(ARTIFACTS_DIR, dir);
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: resolve(folder, `${name}.png`), fullPage: true });
}
