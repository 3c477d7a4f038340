import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConsoleRoot } from '../src/console/console-files';
import { startApi, type ApiHarness } from '../../../test/harness/api';

describe('the console is served by the api under /console', () => {
  let api: ApiHarness;
  let root: string;
  beforeAll(async () => {
    const found = findConsoleRoot(__dirname);
    if (!found) throw new Error('dist/console is missing: `npm run build` builds the console (npm test does it first)');
    root = found;
    api = await startApi();
  });
  afterAll(async () => api?.close());

  const script = () => readdirSync(`${root}/assets`).find((f) => f.endsWith('.js'))!;

  it('serves the page without credentials, under a strict Content-Security-Policy', async () => {
    const res = await api.http.get('/console').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<div id="app">');
    expect(res.text).toContain(`/console/assets/${script()}`);
  });

  it('loads nothing from another origin: no absolute URLs and no inline script in the page', async () => {
    const res = await api.http.get('/console/').expect(200);
    expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  });

  it('answers the console routes with the page, so a reload lands on the same page', async () => {
    for (const path of ['/console/keys', '/console/audit?run_id=r1', '/console/webhooks/']) {
      const res = await api.http.get(path).expect(200);
      expect(res.text).toContain('<div id="app">');
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    }
  });

  it('serves the hashed script as immutable JavaScript', async () => {
    const res = await api.http.get(`/console/assets/${script()}`).expect(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('answers a missing asset with a 404 route_not_found, not with the page', async () => {
    const res = await api.http.get('/console/assets/missing-0000.js').expect(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'route_not_found' });
  });

  it('never serves a file from outside the build', async () => {
    for (const path of ['/console/..%2Fpackage.json', '/console/%2e%2e/%2e%2e/package.json', '/console/.vite/manifest.json']) {
      const res = await api.http.get(path);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('"devDependencies"');
    }
  });

  it('leaves the api routes to the api', async () => {
    expect((await api.http.get('/me').expect(401)).body.error.code).toBe('invalid_api_key');
    const doc = await api.http.get('/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths).filter((p) => p.startsWith('/console'))).toEqual([]);
  });
});
